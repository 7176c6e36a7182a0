//! A small `--key value` parser with clear errors; no dependency needed.

use std::collections::BTreeMap;
use std::str::FromStr;

pub struct Args {
    cmd: String,
    values: BTreeMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    /// Parses `--name value` pairs and bare `--flag`s; `bool_flags` lists the options
    /// that take no value, `valued` those that do. Anything else is an error.
    pub fn parse(
        cmd: &str,
        raw: &[String],
        valued: &[&str],
        bool_flags: &[&str],
    ) -> Result<Args, String> {
        let mut a = Args {
            cmd: cmd.to_string(),
            values: BTreeMap::new(),
            flags: Vec::new(),
        };
        let mut it = raw.iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!(
                    "{cmd}: unexpected argument {arg:?} (options start with --)"
                ));
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (name, None),
            };
            if bool_flags.contains(&name) {
                if inline.is_some() {
                    return Err(format!("{cmd}: --{name} takes no value"));
                }
                a.flags.push(name.to_string());
            } else if valued.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("{cmd}: --{name} needs a value"))?,
                };
                a.values.insert(name.to_string(), v);
            } else {
                let mut known: Vec<String> = valued.iter().map(|v| format!("--{v} X")).collect();
                known.extend(bool_flags.iter().map(|f| format!("--{f}")));
                return Err(format!(
                    "{cmd}: unknown option --{name}; known: {}",
                    known.join(", ")
                ));
            }
        }
        Ok(a)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A typed value, `default` when absent, an error naming the option when malformed.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.values.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                format!(
                    "{}: --{name} got {v:?}, which is not a valid value",
                    self.cmd
                )
            }),
        }
    }
}
