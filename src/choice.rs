//! Named choices (a precision, a sparse format, a kernel …) with exactly one spelling.
//!
//! `choice_enum!` writes the enum, its list of values, `name`/`parse`, `Display`,
//! `FromStr` and serde from a single table, so the spelling a URL, a worker message, a
//! CLI flag and a JSON report use cannot drift apart: there is nothing else to edit.

use crate::error::{input_err, Result};

/// What every named choice offers; faces (the CLI's value parsers, the page's select
/// options) read `NAMES` instead of keeping their own lists.
pub trait Choice: Copy + Sized + 'static {
    /// Every value, the default first.
    const ALL: &'static [Self];
    /// The spellings of `ALL`, in the same order.
    const NAMES: &'static [&'static str];
    /// What the choice is called in messages ("precision", "sparse format").
    const WHAT: &'static str;

    fn name(self) -> &'static str;

    /// The value spelled `s`, or an error that lists every valid spelling.
    fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                input_err(format!(
                    "unknown {} {s:?}; choose one of {}",
                    Self::WHAT,
                    Self::NAMES.join(", ")
                ))
            })
    }
}

/// Declares a `Choice` enum: `choice_enum! { /// doc  pub enum Name ("what") { /// doc  Variant = "spelling", … } }`.
/// The first variant is the default.
#[macro_export]
macro_rules! choice_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $(#[$fmeta:meta])* $first:ident = $fs:literal
            $(, $(#[$vmeta:meta])* $var:ident = $s:literal)* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[$fmeta])*
            #[default]
            $first,
            $($(#[$vmeta])* $var,)*
        }

        impl $crate::choice::Choice for $name {
            const ALL: &'static [Self] = &[$name::$first $(, $name::$var)*];
            const NAMES: &'static [&'static str] = &[$fs $(, $s)*];
            const WHAT: &'static str = $what;
            fn name(self) -> &'static str {
                match self {
                    $name::$first => $fs,
                    $($name::$var => $s,)*
                }
            }
        }

        impl $name {
            /// Every value, the default first.
            pub const ALL: &'static [Self] = <Self as $crate::choice::Choice>::ALL;
            /// The spellings of `ALL`.
            pub const NAMES: &'static [&'static str] = <Self as $crate::choice::Choice>::NAMES;
            /// The one spelling of this value (URL, CLI, JSON).
            pub fn name(self) -> &'static str {
                <Self as $crate::choice::Choice>::name(self)
            }
            /// Parses the one spelling; the error lists the valid ones.
            pub fn parse(s: &str) -> $crate::Result<Self> {
                <Self as $crate::choice::Choice>::parse(s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                Self::parse(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}

/// Serialises an f32 setting as its shortest decimal (0.35, not the f64 value of the
/// nearest f32, 0.3499999940395355), so a JS face gets the number the user chose.
/// JSON text is unchanged: serde_json prints f32 by its shortest decimal already.
pub fn f32_decimal<S: serde::Serializer>(x: &f32, s: S) -> std::result::Result<S::Ok, S::Error> {
    let d: f64 = x.to_string().parse().unwrap_or(*x as f64);
    s.serialize_f64(d)
}

#[cfg(test)]
mod tests {

    crate::choice_enum! {
        /// A test choice.
        pub enum Fruit ("fruit") {
            Apple = "apple",
            /// Doc comments pass through.
            BloodOrange = "blood-orange",
        }
    }

    #[test]
    fn one_spelling_everywhere() {
        assert_eq!(Fruit::default(), Fruit::Apple);
        assert_eq!(Fruit::NAMES, ["apple", "blood-orange"]);
        for &f in Fruit::ALL {
            assert_eq!(Fruit::parse(f.name()).unwrap(), f);
            assert_eq!(f.to_string(), f.name());
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(serde_json::from_str::<Fruit>(&json).unwrap(), f);
        }
        let e = Fruit::parse("pear").unwrap_err().to_string();
        assert!(
            e.contains("unknown fruit \"pear\"") && e.contains("blood-orange"),
            "{e}"
        );
        assert!(serde_json::from_str::<Fruit>("\"bloodorange\"").is_err());
    }
}
