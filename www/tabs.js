// ARIA tabs (WAI-ARIA Authoring Practices, automatic activation): arrow keys move
// between tabs and show their panel, Home/End jump to the ends; only the selected
// tab is in the Tab order.

export function setupTabs(tablist, { initial = '', onChange = () => {} } = {}) {
  const tabs = [...tablist.querySelectorAll('[role="tab"]')];
  const panelOf = (tab) => document.getElementById(tab.getAttribute('aria-controls'));
  const nameOf = (tab) => tab.id.replace(/^tab-/, '');

  function select(tab, focus) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      panelOf(t).hidden = !on;
    }
    if (focus) tab.focus();
    onChange(nameOf(tab));
  }

  tablist.addEventListener('click', (e) => {
    const tab = e.target.closest('[role="tab"]');
    if (tab) select(tab, false);
  });
  tablist.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    const next = {
      ArrowRight: tabs[(i + 1) % tabs.length],
      ArrowLeft: tabs[(i - 1 + tabs.length) % tabs.length],
      Home: tabs[0],
      End: tabs[tabs.length - 1],
    }[e.key];
    if (!next) return;
    e.preventDefault();
    select(next, true);
  });

  const first = tabs.find((t) => nameOf(t) === initial) || tabs[0];
  select(first, false);
  return { select: (name) => select(tabs.find((t) => nameOf(t) === name) || tabs[0], false) };
}
