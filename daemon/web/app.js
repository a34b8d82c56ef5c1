// civnet member web interface: a single-page app over the member API.
// Security: all text from the API goes into the page as text nodes (h(),
// textContent). The only innerHTML is markdown(): the server's cmark
// rendering, in safe mode, of a body (`body_html`, `html`).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const view = () => $('view');
  const enc = encodeURIComponent;
  const MD_HINT = 'Markdown: **bold**, *italic*, [links](https://…), lists';
  const LANGS = [['en', 'English'], ['fr', 'Français (French)'], ['es', 'Español (Spanish)'],
    ['pt', 'Português (Portuguese)'], ['ar', 'العربية (Arabic)'], ['sw', 'Kiswahili (Swahili)']];
  const FILTERS = ['q', 'tag', 'org', 'region', 'label'];
  const FNAME = { q: 'search', tag: 'tag', org: 'organization', region: 'region', label: 'label' };

  const S = {
    me: null, csrf: null, ready: false, bootPending: false, returnTo: null, flash: null, token: 0, route: null,
    pending: false, offline: false, probeTimer: 0, es: null, esTimer: 0, esFails: 0, esBroken: false,
    lastCheck: 0, onEvent: null, drafts: new Map(), draftOwner: null, orgNames: new Map(), pwChange: false,
  };

  // ---- DOM helpers: text only ----
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' || k === 'checked') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    return put(el, kids);
  }
  function put(el, ...kids) {
    for (const k of kids.flat(Infinity)) if (k != null && k !== false) el.append(k instanceof Node ? k : String(k));
    return el;
  }
  const P = (...kids) => h('p', null, ...kids);
  const back = () => P(h('a', { href: '#/' }, 'Back to the latest entries'));
  const loading = () => h('p', { class: 'loading' }, 'Loading…');
  // The one place HTML goes in: the server's safe rendering of Markdown.
  function markdown(html) {
    const d = h('div', { class: 'markdown', dir: 'auto' });
    d.innerHTML = typeof html === 'string' ? html : '';
    for (const a of d.querySelectorAll('a[href]')) a.rel = 'noopener noreferrer nofollow ugc';
    return d;
  }
  let uid = 0;
  function field(label, input, hint) {
    const id = input.id || (input.id = 'f' + ++uid);
    const hi = hint && h('p', { class: 'hint', id: id + '-hint' }, hint);
    if (hi) input.setAttribute('aria-describedby', hi.id);
    return h('div', { class: 'field' }, h('label', { for: id }, label), hi, input);
  }
  const input = (id, props) => h('input', { type: 'text', id, autocomplete: 'off', ...props });
  const heading = (text) => h('h1', { tabindex: '-1', dir: 'auto' }, text);
  // Moves focus to a screen's heading, except on the page's first screen.
  function focusH(el, always) {
    if (!el) return;
    if (!el.hasAttribute('tabindex')) el.tabIndex = -1;
    window.scrollTo(0, 0);
    if (always || S.token > 1) el.focus();
  }
  function announce(msg) {
    const l = $('live');
    l.textContent = '';
    setTimeout(() => { l.textContent = msg; }, 60);
  }
  const notice = (msg) => { $('notice').textContent = msg || ''; };
  const alertMsg = (msg) => { $('alert').textContent = msg || ''; };
  const formError = () => h('div', { class: 'form-error', role: 'alert' });
  const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const shortKey = (k) => (k ? String(k).slice(0, 8) + '…' : '');
  const orgName = (org, name) => name || S.orgNames.get(org) || 'Organization ' + shortKey(org);
  const rememberOrg = (x) => { if (x && x.org && x.org_name) S.orgNames.set(x.org, x.org_name); };
  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) u.set(k, v);
    return u.toString();
  }
  const qhash = (path, params) => { const s = qs(params); return '#' + path + (s ? '?' + s : ''); };
  const go = (hash) => { if (location.hash === hash) render(); else location.hash = hash; };

  const rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat('en', { numeric: 'auto' }) : null;
  function timeEl(ms) {
    const d = new Date(ms);
    if (typeof ms !== 'number' || isNaN(d)) return '';
    const abs = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    const s = (ms - Date.now()) / 1000, a = Math.abs(s);
    let text = abs;
    if (rtf && a < 604800) {
      text = a < 60 ? 'just now' : a < 3600 ? rtf.format(Math.round(s / 60), 'minute')
        : a < 86400 ? rtf.format(Math.round(s / 3600), 'hour') : rtf.format(Math.round(s / 86400), 'day');
    }
    return h('time', { datetime: d.toISOString(), title: abs }, text);
  }
  function langName(code) {
    const l = LANGS.find(([c]) => c === code);
    return l ? l[1].replace(/ \(.*\)$/, '') : code;
  }
  const tagList = (tags) => tags && tags.length ? h('ul', { class: 'tags', 'aria-label': 'Tags' },
    tags.map((t) => h('li', null, h('a', { class: 'tag', href: qhash('/', { tag: t }), dir: 'auto' }, '#' + t)))) : null;
  const orgLink = (org, name) => h('a', { class: 'org', href: qhash('/', { org }), dir: 'auto' }, orgName(org, name));
  // "Org · 5 minutes ago" and extras.
  function meta(x, ...more) {
    const m = h('p', { class: 'meta' }, orgLink(x.org, x.org_name), ' · ', timeEl(x.time));
    if (x.language && x.language !== 'en') put(m, ' · ', langName(x.language));
    return put(m, more);
  }
  function dl(rows) {
    const d = h('dl', { class: 'facts' });
    for (const [k, v] of rows) {
      if (!v || (Array.isArray(v) && !v.length)) continue;
      put(d, h('div', null, h('dt', null, k), h('dd', { dir: 'auto' }, Array.isArray(v) ? v.join(', ') : v)));
    }
    return d;
  }
  function parseTags(s) {
    const out = [];
    for (let t of s.split(',')) {
      t = t.trim().replace(/^#+/, '').trim();
      if (t && !out.includes(t)) out.push(t);
    }
    return out;
  }

  // A comma-separated list: trimmed, without empty or repeated items
  // (ignoring case).
  function parseList(s) {
    const out = [], seen = new Set();
    for (let t of s.split(',')) {
      t = t.trim();
      if (t && !seen.has(t.toLowerCase())) { seen.add(t.toLowerCase()); out.push(t); }
    }
    return out;
  }

  // ---- API ----
  async function api(method, path, body, retried) {
    const o = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (method === 'POST') {
      o.headers['Content-Type'] = 'application/json';
      if (path !== '/api/login' && S.csrf) o.headers['X-CSRF-Token'] = S.csrf;
      o.body = JSON.stringify(body || {});
    }
    let res, data = null;
    try {
      res = await fetch(path, o);
    } catch (_) {
      wentOffline();
      throw Object.assign(new Error('Cannot reach the node. Check your connection and try again.'), { network: true });
    }
    backOnline();
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (res.ok) return data || {};
    const info = (data && data.error) || {};
    const e = Object.assign(new Error(info.message || `The node answered with error ${res.status}.`),
      { status: res.status, code: info.code || 'http' });
    if (res.status === 401 && path !== '/api/login') {
      e.handled = true;
      sessionEnded();
    } else if (res.status === 403 && e.code === 'must_change_password') {
      e.handled = true;
      mustChange();
    } else if (res.status === 403 && e.code === 'csrf' && method === 'POST' && !retried) {
      const me = await api('GET', '/api/me'); // a stale token: fetch it again, once
      if (S.me) setMe(me);
      return api(method, path, body, true);
    }
    throw e;
  }
  const getEntry = (id) => api('GET', '/api/entries/' + enc(id || ''));
  function setMe(d) {
    S.me = { handle: d.handle, name: d.name, org: d.org, org_name: d.org_name, admin: !!d.admin,
      must_change_password: !!d.must_change_password };
    if (d.csrf) S.csrf = d.csrf;
    rememberOrg(d);
    navUpdate();
  }
  function toLogin(flash) {
    S.me = S.csrf = null;
    S.ready = true;
    stopEvents();
    S.flash = flash;
    history.replaceState(null, '', '#/login');
    render();
  }
  function sessionEnded() {
    const r = parseHash(), wasIn = !!S.me;
    if (!wasIn && S.ready && r && r.name === 'login') return;
    if (r && r.name !== 'login') S.returnTo = location.hash;
    toLogin(wasIn ? 'Your session has ended. Please log in again.' : null);
  }
  // The node wants the member's own password first: the account page says
  // so (its warning gets the focus), and the menu's other links are off.
  function mustChange() {
    if (S.me) S.me.must_change_password = true;
    navUpdate();
    const r = parseHash(), w = $('must-change');
    if (r && r.name === 'account' && w) pointTo(w);
    else go('#/account');
  }
  function pointTo(el) {
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
  }
  function wentOffline() {
    if (!S.offline) $('offline').textContent = 'Cannot reach the node. Check your connection; retrying…';
    S.offline = true;
    clearTimeout(S.probeTimer);
    S.probeTimer = setTimeout(probe, 5000);
  }
  function backOnline() {
    if (!S.offline) return;
    S.offline = false;
    clearTimeout(S.probeTimer);
    $('offline').textContent = '';
    if (S.pending) render();
    if (S.me && !S.es) startEvents();
  }
  function probe() {
    if (S.bootPending) boot();
    else api('GET', '/api/me').then((d) => { if (S.me) setMe(d); }, () => {});
  }
  function checkSession() {
    if (!S.me || Date.now() - S.lastCheck < 10000) return;
    S.lastCheck = Date.now();
    api('GET', '/api/me').then((d) => { if (S.me) setMe(d); }, () => {});
  }

  // ---- live updates (Server-Sent Events) ----
  function startEvents() {
    clearTimeout(S.esTimer);
    // The node refuses the stream until the member has chosen their own
    // password: it opens once they have (the password form starts it).
    if (S.es || !S.me || S.me.must_change_password || !window.EventSource) return;
    const es = S.es = new EventSource('/api/events');
    es.addEventListener('entry', (m) => {
      let d;
      try { d = JSON.parse(m.data); } catch (_) { return; }
      if (d && typeof d === 'object' && S.onEvent) S.onEvent(d);
    });
    // The stream skipped ahead (the node was catching up): the screen
    // reloads what it shows.
    es.addEventListener('resync', () => { if (S.es === es && S.onEvent) S.onEvent({ type: 'resync' }); });
    // The session this stream was opened with has ended. The page asks
    // /api/me, which answers 401 (and the login screen shows) unless this
    // page holds a newer session (a password changed here or in another
    // tab): then it listens again with that one.
    es.addEventListener('session_ended', () => {
      if (S.es !== es) return;
      stopEvents();
      if (S.pwChange) return; // the password form listens again when it is done
      api('GET', '/api/me').then((d) => { if (S.me) { setMe(d); startEvents(); } }, () => {});
    });
    es.addEventListener('open', () => {
      S.esFails = 0;
      if (S.esBroken && S.onEvent) S.onEvent({ type: 'resync' }); // events may have been missed
      S.esBroken = false;
    });
    es.addEventListener('error', () => {
      if (S.es !== es) return;
      S.esBroken = true;
      if (es.readyState === 2) { // closed for good: open it again later
        es.close();
        S.es = null;
        S.esTimer = setTimeout(startEvents, Math.min(60000, 1000 * 2 ** Math.min(++S.esFails, 6)));
      }
      checkSession();
    });
  }
  function stopEvents() {
    clearTimeout(S.esTimer);
    if (S.es) S.es.close();
    S.es = null;
  }

  // ---- routing ----
  function parseHash() {
    const raw = location.hash || '#/';
    if (!raw.startsWith('#/')) return null;
    const i = raw.indexOf('?');
    const parts = raw.slice(1, i < 0 ? undefined : i).split('/').filter(Boolean);
    let arg = parts[1] || null;
    try { arg = arg && decodeURIComponent(arg); } catch (_) { /* keep it raw */ }
    return { name: parts[0] || 'home', arg, query: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
  }
  const screens = { home: screenHome, entry: screenEntry, compose: screenCompose, edit: screenEdit,
    members: screenMembers, account: screenAccount, admin: screenAdmin, login: screenLogin };
  function render() {
    let r = parseHash();
    if (!r || !S.ready) return;
    const to = (hash) => { history.replaceState(null, '', hash); r = parseHash(); };
    if (!S.me && r.name !== 'login') { S.returnTo = location.hash; to('#/login'); }
    else if (S.me && r.name === 'login') to('#/');
    if (S.me && S.me.must_change_password && r.name !== 'account') to('#/account'); // its warning says why
    S.route = r.name;
    navUpdate();
    Promise.resolve((screens[r.name] || screenNotFound)(r)).catch((e) => alertMsg('Something went wrong: ' + e.message));
  }
  function startScreen(title) {
    S.onEvent = null;
    S.pending = false;
    document.title = title + ' — civnet';
    alertMsg('');
    notice(S.flash);
    S.flash = null;
    view().replaceChildren();
    return ++S.token;
  }
  function failed(err, tok) {
    if (tok !== S.token || err.handled) return;
    let h1;
    if (err.network) {
      S.pending = true;
      view().replaceChildren(h1 = heading('Cannot load this page'),
        P('The node cannot be reached right now. This page will load as soon as it can be reached again.'));
    } else if (err.status === 404) {
      view().replaceChildren(h1 = heading('Not found'), P('This entry does not exist, or it has been retracted.'), back());
    } else {
      view().replaceChildren(h1 = heading('Something went wrong'), back());
      alertMsg(err.message);
    }
    focusH(h1);
  }
  function navUpdate() {
    $('nav').hidden = !S.me;
    $('nav-admin').hidden = !(S.me && S.me.admin);
    $('who').textContent = S.me ? `${S.me.name || S.me.handle}, ${S.me.org_name || ''}` : '';
    // Until the member has chosen their own password, only My account and
    // Log out work: the other links show as unavailable (a click on one
    // points to the account page's warning, which says why).
    const locked = !!(S.me && S.me.must_change_password);
    for (const a of document.querySelectorAll('#nav a[data-route], a.brand')) {
      if (S.me && a.dataset.route === S.route) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
      if (locked && a.dataset.route !== 'account') a.setAttribute('aria-disabled', 'true');
      else a.removeAttribute('aria-disabled');
    }
  }
  // Submits a form one request at a time; errors go to its alert region.
  function onSubmit(form, err, fn) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (form.getAttribute('aria-busy')) return;
      form.setAttribute('aria-busy', 'true');
      err.textContent = '';
      try { await fn(); } catch (e) { if (!e.handled) err.textContent = e.message; }
      form.removeAttribute('aria-busy');
    });
  }

  // ---- screens ----
  function screenNotFound() {
    startScreen('Page not found');
    const h1 = heading('Page not found');
    put(view(), h1, back());
    focusH(h1);
  }

  function screenLogin() {
    startScreen('Log in');
    const h1 = heading('Log in');
    const handle = input('login-handle', { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
    const pw = input('login-password', { type: 'password', autocomplete: 'current-password', required: true });
    const err = formError();
    const form = h('form', { class: 'card stack' }, field('Handle', handle), field('Password', pw), err,
      h('button', { type: 'submit' }, 'Log in'));
    onSubmit(form, err, async () => {
      let d;
      try {
        d = await api('POST', '/api/login', { handle: handle.value.trim(), password: pw.value });
      } catch (e) {
        pw.value = '';
        throw e;
      }
      if (S.draftOwner !== d.handle) S.drafts.clear();
      S.draftOwner = d.handle;
      setMe(d);
      startEvents();
      let to = S.returnTo || '#/';
      S.returnTo = null;
      if (d.must_change_password) to = '#/account';
      go(to.startsWith('#/login') ? '#/' : to);
    });
    put(view(), h('div', { class: 'login' },
      h('p', { class: 'tagline' }, 'civnet — a shared space for civil-society organizations'), h1, form));
    focusH(h1);
  }

  function entryCard(e, isNew) {
    rememberOrg(e);
    return h('article', { class: 'entry-card' + (isNew ? ' new' : ''), 'data-id': e.id, lang: e.language || null },
      h('h2', { dir: 'auto' }, h('a', { href: '#/entry/' + enc(e.id) }, e.title || '(untitled)')),
      meta(e, e.edited && [' · ', h('span', { class: 'edited' }, 'edited')], isNew && [' ', h('span', { class: 'badge' }, 'New')]),
      e.excerpt && h('p', { class: 'excerpt', dir: 'auto' }, e.excerpt),
      h('div', { class: 'card-foot' }, tagList(e.tags), h('span', { class: 'count' }, plural(Number(e.comments) || 0, 'comment'))));
  }

  async function screenHome(r) {
    const f = {};
    for (const k of FILTERS) f[k] = (r.query.get(k) || '').trim();
    const any = FILTERS.some((k) => f[k]);
    const tok = startScreen(f.q ? 'Search: ' + f.q : 'Latest entries');
    const h1 = heading(f.q ? 'Search results' : any ? 'Filtered entries' : 'Latest entries');
    const refilter = (change) => go(qhash('/', { ...f, ...change }));

    const q = input('search-q', { type: 'search', name: 'q', value: f.q, enterkeyhint: 'search' });
    // The node's reason for refusing the search (its syntax), under the box.
    const searchErr = h('p', { class: 'form-error', role: 'alert', id: 'search-q-error' });
    const search = h('form', { role: 'search', class: 'search' }, h('label', { for: 'search-q' }, 'Search entries'),
      h('div', { class: 'row' }, q, h('button', { type: 'submit' }, 'Search')), searchErr);
    search.addEventListener('submit', (ev) => { ev.preventDefault(); refilter({ q: q.value.trim() }); });
    const region = input('home-region', { value: f.region }), label = input('home-label', { value: f.label });
    const moreForm = h('form', { class: 'grid' }, field('Region', region), field('Label', label),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Apply filters')));
    moreForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      refilter({ region: region.value.trim(), label: label.value.trim() });
    });

    const chips = h('ul', { class: 'chips', 'aria-label': 'Active filters' });
    const tagbar = h('div', { class: 'tagbar' });
    const list = h('div', { class: 'entries' });
    const empty = h('p', { class: 'empty', hidden: true },
      any ? 'No entries match. Try removing a filter.' : 'No entries yet. Use “Write” in the menu to share the first one.');
    const moreBtn = h('button', { type: 'button', class: 'secondary more', hidden: true }, 'Load more');
    const cards = new Map();
    let cursor = null;
    put(view(), h1, search, h('details', { class: 'more-filters', open: !!(f.region || f.label) },
      h('summary', null, 'More filters: region, label'), moreForm), chips, tagbar, list, empty, moreBtn);
    focusH(h1);

    const load = (c) => api('GET', '/api/entries?' + qs({ ...f, limit: 20, cursor: c }));
    function drawChips() {
      chips.replaceChildren(...FILTERS.filter((k) => f[k]).map((k) => {
        const shown = k === 'org' ? orgName(f.org) : f[k];
        return h('li', { class: 'chip' }, FNAME[k][0].toUpperCase() + FNAME[k].slice(1) + ': ', h('span', { dir: 'auto' }, shown),
          h('button', { type: 'button', class: 'x', 'aria-label': `Remove filter ${FNAME[k]}: ${shown}`, onclick: () => refilter({ [k]: '' }) }, '×'));
      }));
    }
    function update() {
      empty.hidden = cards.size > 0;
      const seen = new Map();
      for (const { e } of cards.values()) for (const t of e.tags || []) seen.set(t, (seen.get(t) || 0) + 1);
      const tags = [...seen.keys()].sort((a, b) => seen.get(b) - seen.get(a) || a.localeCompare(b)).slice(0, 24);
      if (f.tag && !tags.includes(f.tag)) tags.unshift(f.tag);
      tagbar.replaceChildren();
      if (tags.length) put(tagbar, h('span', { id: 'tagbar-label', class: 'muted' }, 'Tags in this list:'),
        h('div', { role: 'group', 'aria-labelledby': 'tagbar-label', class: 'tag-buttons' }, tags.map((t) =>
          h('button', { type: 'button', class: 'chip-toggle', 'aria-pressed': String(t === f.tag), dir: 'auto',
            onclick: () => refilter({ tag: t === f.tag ? '' : t }) }, t))));
    }
    function addCards(entries, top) {
      const made = [];
      for (const e of entries || []) {
        if (!e || !e.id || cards.has(e.id)) continue;
        const el = entryCard(e, top);
        cards.set(e.id, { el, e });
        made.push(el);
      }
      if (top) list.prepend(...made); else list.append(...made);
      update();
      return made;
    }
    function removeCard(id) {
      const c = cards.get(id);
      if (!c) return;
      if (c.el.contains(document.activeElement)) h1.focus();
      c.el.remove();
      cards.delete(id);
      update();
      announce('An entry was retracted by its organization.');
    }

    let d;
    try { d = await load(); } catch (e) {
      // A search the node cannot read: the page stays, with the query in
      // the box to correct and the node's reason under it.
      if (tok !== S.token || e.handled || !f.q || e.status !== 400 || e.code !== 'invalid_argument' ||
        (f.org && !/^[0-9a-f]{64}$/i.test(f.org))) return failed(e, tok);
      searchErr.textContent = e.message;
      q.setAttribute('aria-invalid', 'true');
      q.setAttribute('aria-describedby', searchErr.id);
      empty.textContent = 'No results.';
      update();
      drawChips();
      q.focus();
      return;
    }
    if (tok !== S.token) return;
    addCards(d.entries);
    drawChips();
    moreBtn.hidden = !(cursor = d.next_cursor);

    moreBtn.addEventListener('click', async () => {
      if (moreBtn.getAttribute('aria-busy') || !cursor) return;
      moreBtn.setAttribute('aria-busy', 'true');
      moreBtn.textContent = 'Loading…';
      try {
        const p = await load(cursor);
        if (tok !== S.token) return;
        const made = addCards(p.entries);
        moreBtn.hidden = !(cursor = p.next_cursor);
        if (made[0]) made[0].querySelector('h2 a').focus();
      } catch (e) {
        if (!e.handled) alertMsg(e.message);
      }
      moreBtn.removeAttribute('aria-busy');
      moreBtn.textContent = 'Load more';
    });

    let timer = 0;
    async function refreshTop() {
      let p;
      try { p = await load(); } catch (_) { return; }
      if (tok !== S.token) return;
      const fresh = [];
      for (const e of p.entries || []) {
        const c = e && cards.get(e.id);
        if (!c) { if (e && e.id) fresh.push(e); continue; }
        if (['comments', 'edited', 'title', 'excerpt'].some((k) => c.e[k] !== e[k]) && !c.el.contains(document.activeElement)) {
          const el = entryCard(e, c.el.classList.contains('new'));
          c.el.replaceWith(el);
          cards.set(e.id, { el, e });
        }
      }
      if (!fresh.length) return;
      addCards(fresh, true);
      announce(fresh.length > 1 ? `${fresh.length} new entries.`
        : `New entry from ${orgName(fresh[0].org, fresh[0].org_name)}: ${fresh[0].title}`);
    }
    // Events were missed: the list becomes the first page again, as the node
    // has it now (new entries marked, retracted ones gone). The forms above
    // it, and what is typed in them, stay as they are; so does the focus,
    // unless it was on an entry that is gone.
    async function reloadList() {
      let p;
      try { p = await load(); } catch (_) { return; }
      if (tok !== S.token) return;
      const active = document.activeElement, old = new Map(cards), els = [];
      let fresh = 0;
      cards.clear();
      for (const e of p.entries || []) {
        if (!e || !e.id || cards.has(e.id)) continue;
        const c = old.get(e.id);
        let el = c && c.el;
        if (!c) fresh++;
        if (!c || (['comments', 'edited', 'title', 'excerpt'].some((k) => c.e[k] !== e[k]) && !c.el.contains(active)))
          el = entryCard(e, !c || c.el.classList.contains('new'));
        cards.set(e.id, { el, e });
        els.push(el);
      }
      // Moved into place one by one: the element with the focus stays in.
      let ref = list.firstChild;
      for (const el of els) {
        if (el === ref) ref = ref.nextSibling;
        else list.insertBefore(el, ref);
      }
      while (ref) { const next = ref.nextSibling; ref.remove(); ref = next; }
      if (list.contains(active)) { if (document.activeElement !== active) active.focus(); }
      else if (active && !document.contains(active)) h1.focus();
      moreBtn.hidden = !(cursor = p.next_cursor);
      update();
      if (fresh) announce(`The list has been brought up to date: ${fresh === 1 ? 'one new entry' : fresh + ' new entries'}.`);
    }
    let full = false;
    S.onEvent = (ev) => {
      if (ev.type === 'retraction') { removeCard(ev.thread); removeCard(ev.id); return; }
      if (ev.type === 'resync') full = true;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const all = full;
        full = false;
        (all ? reloadList : refreshTop)();
      }, 400);
    };
  }

  function commentEl(c) {
    rememberOrg(c);
    return h('article', { class: 'comment', 'data-id': c.id },
      meta(c, c.mine && [' ', h('span', { class: 'badge' }, 'your organization')]), markdown(c.body_html));
  }

  async function screenEntry(r) {
    const id = r.arg || '';
    const tok = startScreen('Entry');
    put(view(), loading());
    let cur;
    try { cur = await getEntry(id); } catch (e) { return failed(e, tok); }
    if (tok !== S.token) return;

    const top = h('div');
    const comments = h('section', { class: 'comments', 'aria-label': 'Comments' });
    const key = 'comment:' + id;
    const ta = h('textarea', { id: 'comment-body', rows: '4', required: true, dir: 'auto', value: S.drafts.get(key) || '' });
    ta.addEventListener('input', () => S.drafts.set(key, ta.value));
    const err = formError();
    const form = h('form', { class: 'comment-form stack' }, field('Add a comment', ta, MD_HINT), err,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Comment')));

    async function retract() {
      if (!window.confirm(`Retract “${cur.title}”?\n\nIt will be removed from every node of the network. ` +
        'Copies people have already read cannot be recalled.')) return;
      try {
        await api('POST', `/api/entries/${enc(cur.id)}/retract`, {});
        S.flash = 'The entry has been retracted: it is being removed from every node.';
        go('#/');
      } catch (e) {
        if (e.code === 'already_retracted') { S.flash = 'This entry had already been retracted.'; go('#/'); }
        else if (!e.handled) alertMsg(e.message);
      }
    }
    function drawComments() {
      const list = cur.comments || [];
      comments.replaceChildren(h('h2', { tabindex: '-1' }, `Comments (${list.length})`), ...list.map(commentEl));
      if (!list.length) put(comments, h('p', { class: 'empty' }, 'No comments yet.'));
    }
    function draw() {
      const e = cur, revs = e.revisions || [];
      rememberOrg(e);
      document.title = (e.title || 'Entry') + ' — civnet';
      // What was open stays open when the entry is drawn again.
      const open = !!top.querySelector('details.revisions[open]');
      const openIds = new Set([...top.querySelectorAll('details.version[open]')].map((x) => x.dataset.id));
      // The text shown is the newest version; `revisions` holds the earlier
      // ones, newest first (the post's first text last).
      const edited = e.edited && h('span', { class: 'edited' }, 'Edited',
        typeof e.edited_time === 'number' && [' ', timeEl(e.edited_time)]);
      top.replaceChildren(h('article', { class: 'entry', lang: e.language || null },
        heading(e.title || '(untitled)'),
        meta(e, edited && [' · ', edited]),
        tagList(e.tags),
        e.mine && h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/edit/' + enc(e.id) }, 'Edit'),
          h('button', { type: 'button', class: 'danger', onclick: retract }, 'Retract')),
        markdown(e.body_html),
        revs.length > 0 && h('details', { class: 'revisions', open },
          h('summary', null, `Earlier versions (${revs.length})`),
          h('ol', null, revs.map((v) => h('li', null, h('details', { class: 'version', 'data-id': v.id, open: openIds.has(v.id) },
            h('summary', null, timeEl(v.time), ' — ', h('span', { dir: 'auto' }, v.title || '(untitled)'),
              v.id === e.id && h('span', { class: 'muted' }, ' (first version)')),
            markdown(v.body_html))))))));
      drawComments();
    }
    onSubmit(form, err, async () => {
      if (!ta.value.trim()) { err.textContent = 'Write something first.'; ta.focus(); return; }
      const c = await api('POST', `/api/entries/${enc(cur.id)}/comments`, { body: ta.value });
      if (tok !== S.token) return;
      ta.value = '';
      S.drafts.delete(key);
      if (c && c.id && !(cur.comments || []).some((x) => x.id === c.id)) {
        cur.comments = [...(cur.comments || []), c];
        drawComments();
      }
      announce('Your comment has been posted.');
    });

    view().replaceChildren(top, comments, form);
    draw();
    focusH(top.querySelector('h1'));

    let timer = 0;
    async function refresh() {
      let e;
      try { e = await getEntry(id); } catch (x) {
        if (tok !== S.token || x.status !== 404) return;
        S.onEvent = null;
        const h1 = heading('This entry has been retracted');
        const hadFocus = view().contains(document.activeElement);
        view().replaceChildren(h1, P('Its organization retracted it; it is no longer available.'), back());
        if (hadFocus) h1.focus();
        return announce('This entry has been retracted by its organization.');
      }
      if (tok !== S.token) return;
      if (JSON.stringify(e) === JSON.stringify(cur)) return; // nothing changed: nothing is redrawn
      const active = document.activeElement;
      const fTop = top.contains(active), fCom = comments.contains(active);
      // On a summary of the earlier versions, the focus stays on the same one.
      const onSum = fTop && active.tagName === 'SUMMARY' && active.parentElement;
      const more = (e.comments || []).length - (cur.comments || []).length;
      const revised = e.edited_time !== cur.edited_time || e.title !== cur.title;
      cur = e;
      draw();
      if (fTop) {
        const same = onSum && [...top.querySelectorAll('details')].find((x) => onSum.classList.contains('revisions')
          ? x.classList.contains('revisions') : x.dataset.id && x.dataset.id === onSum.dataset.id);
        (same ? same.querySelector('summary') : top.querySelector('h1')).focus();
      }
      if (fCom) comments.querySelector('h2').focus();
      const msg = (revised ? 'The entry has been revised. ' : '') + (more > 0 ? plural(more, 'new comment') + '.' : '');
      if (msg) announce(msg);
    }
    S.onEvent = (ev) => {
      if (ev.type === 'resync' || ev.thread === id || ev.id === id) {
        clearTimeout(timer);
        timer = setTimeout(refresh, 300);
      }
    };
  }

  function screenCompose() {
    entryForm(startScreen('Write an entry'), null);
  }
  async function screenEdit(r) {
    const tok = startScreen('Edit entry');
    put(view(), loading());
    let e;
    try { e = await getEntry(r.arg); } catch (x) { return failed(x, tok); }
    if (tok !== S.token) return;
    if (e.mine) return entryForm(tok, e);
    const h1 = heading('You cannot edit this entry');
    view().replaceChildren(h1, P('Only the organization that published an entry can revise it.'),
      P(h('a', { href: '#/entry/' + enc(e.id) }, 'Back to the entry')));
    focusH(h1);
  }
  function entryForm(tok, e) {
    const key = e ? 'edit:' + e.id : 'compose';
    const d = S.drafts.get(key) || (e ? { title: e.title, body: e.body, tags: (e.tags || []).join(', ') } : {});
    const h1 = heading(e ? 'Edit entry' : 'Write an entry');
    const title = input('entry-title', { required: true, value: d.title || '', dir: 'auto' });
    const body = h('textarea', { id: 'entry-body', rows: '12', dir: 'auto', value: d.body || '' });
    const tags = input('entry-tags', { value: d.tags || '', autocapitalize: 'none' });
    const lang = !e && h('select', { id: 'entry-lang' }, LANGS.map(([c, n]) => h('option', { value: c }, n)));
    if (lang) lang.value = d.language || 'en';
    const err = formError();
    const prevBtn = h('button', { type: 'button', class: 'secondary' }, 'Preview');
    const prevBody = h('div');
    const prev = h('section', { class: 'preview', 'aria-labelledby': 'preview-h', hidden: true },
      h('h2', { id: 'preview-h' }, 'Preview'), prevBody);
    const form = h('form', { class: 'entry-form stack' },
      field('Title', title), field('Body', body, MD_HINT), field('Tags (comma-separated)', tags, 'For example: water, health, youth'),
      lang && field('Language', lang), err,
      h('div', { class: 'actions' }, prevBtn, h('button', { type: 'submit' }, e ? 'Save revision' : 'Publish'),
        e && h('a', { class: 'button secondary', href: '#/entry/' + enc(e.id) }, 'Cancel')));
    form.addEventListener('input', () => S.drafts.set(key,
      { title: title.value, body: body.value, tags: tags.value, language: lang && lang.value }));

    prevBtn.addEventListener('click', async () => {
      err.textContent = '';
      prev.hidden = false;
      if (!body.value.trim()) {
        prevBody.replaceChildren(h('p', { class: 'empty' }, 'Nothing to preview yet: write the body first.'));
        return announce('Nothing to preview yet.');
      }
      try {
        const p = await api('POST', '/api/preview', { body: body.value });
        if (tok !== S.token) return;
        prevBody.replaceChildren(markdown(p.html));
        announce('Preview updated, below the form.');
      } catch (x) {
        if (!x.handled) err.textContent = x.message;
      }
    });
    onSubmit(form, err, async () => {
      const t = title.value.trim();
      if (!t) { err.textContent = 'Give the entry a title.'; title.focus(); return; }
      const payload = { title: t, body: body.value, tags: parseTags(tags.value) };
      const res = e ? await api('POST', `/api/entries/${enc(e.id)}/revise`, payload)
        : await api('POST', '/api/entries', { ...payload, language: lang.value });
      S.drafts.delete(key);
      const id = (res && res.id) || (e && e.id);
      S.flash = e ? 'Your revision has been saved.' : 'Published: every member organization can now read it.';
      go(id ? '#/entry/' + enc(id) : '#/');
    });

    // A revision keeps the post's language: shown, not asked.
    const langNote = e && h('p', { class: 'muted lang-note' }, 'Language: ', langName(e.language || 'en'),
      ' (a revision keeps the language of the post)');
    view().replaceChildren(h1, langNote, h('p', { class: 'privacy', role: 'note' },
      'Everything you publish here is visible to every member organization of the network, and is signed by your organization (' +
      (S.me.org_name || 'your organization') + '). A retraction removes it from every node, but copies people have already read cannot be recalled.'),
    form, prev);
    focusH(h1);
  }

  function contactEl(c) {
    const s = String(c || '').trim();
    if (/^https?:\/\/[^\s<>"]+$/i.test(s)) return h('a', { href: s, rel: 'noopener noreferrer nofollow' }, s);
    if (/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(s)) return h('a', { href: 'mailto:' + s }, s);
    return s;
  }
  async function screenMembers(r) {
    const tok = startScreen('Organizations');
    const M = [['region', 'Region'], ['country', 'Country'], ['label', 'Label'], ['focus', 'Focus area']];
    const f = {}, inputs = {};
    for (const [k] of M) f[k] = (r.query.get(k) || '').trim();
    const any = M.some(([k]) => f[k]);
    const h1 = heading('Organizations');
    const form = h('form', { class: 'grid filters' },
      M.map(([k, l]) => field(l, inputs[k] = input('members-' + k, { value: f[k] }))),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter'),
        any && h('a', { class: 'button secondary', href: '#/members' }, 'Clear filters')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const p = {};
      for (const [k] of M) p[k] = inputs[k].value.trim();
      go(qhash('/members', p));
    });
    const out = h('div', { class: 'members' }, loading());
    put(view(), h1, h('p', { class: 'muted' }, 'The member organizations of the network, as each describes itself.'), form, out);
    focusH(h1);
    const get = () => api('GET', '/api/members' + (any ? '?' + qs(f) : ''));
    function draw(d) {
      const ms = d.members || [];
      const hadFocus = out.contains(document.activeElement);
      out.replaceChildren(h('p', { class: 'count' }, plural(ms.length, 'organization') + (any ? ' match.' : '')));
      if (!ms.length) put(out, h('p', { class: 'empty' }, 'No organizations match these filters.'));
      for (const m of ms) {
        if (m.name) S.orgNames.set(m.org, m.name);
        put(out, h('article', { class: 'member-card' },
          h('h2', { dir: 'auto' }, h('a', { href: qhash('/', { org: m.org }) }, m.name || 'Profile not received yet · ' + shortKey(m.org))),
          dl([['Region', m.region], ['Country', m.country], ['Focus areas', m.focus_areas], ['Labels', m.labels],
            ['Contact', contactEl(m.contact)], ['Key', !m.name && h('code', { class: 'key' }, m.org)]])));
      }
      if (hadFocus) h1.focus();
    }
    let d;
    try { d = await get(); } catch (e) { return failed(e, tok); }
    if (tok !== S.token) return;
    draw(d);
    // Events were missed (profiles among them, maybe): the list loads again.
    S.onEvent = (ev) => {
      if (ev.type === 'resync') get().then((x) => { if (tok === S.token) draw(x); }, () => {});
    };
  }

  function screenAccount() {
    startScreen('My account');
    const me = S.me;
    const h1 = heading('My account');
    const pw = (id, ac) => input(id, { type: 'password', autocomplete: ac, required: true });
    const cur = pw('pw-current', 'current-password'), nw = pw('pw-new', 'new-password'), cf = pw('pw-confirm', 'new-password');
    const err = formError();
    const form = h('form', { class: 'card stack', 'aria-labelledby': 'pw-h' }, h('h2', { id: 'pw-h' }, 'Change your password'),
      field('Current password', cur),
      field('New password', nw, 'At least 12 characters; not a common password, your handle or your name. A few unrelated words make a good one.'),
      field('Confirm new password', cf), err, h('button', { type: 'submit' }, 'Change password'));
    onSubmit(form, err, async () => {
      if (nw.value !== cf.value) { err.textContent = 'The new passwords do not match.'; cf.focus(); return; }
      const was = me.must_change_password;
      let d;
      // The node ends the old session (its event stream may say so) and
      // answers with a new one.
      S.pwChange = true;
      try {
        d = await api('POST', '/api/password', { current: cur.value, new: nw.value });
      } catch (e) {
        if (S.me && !S.es) startEvents(); // the stream ended meanwhile: the session goes on
        throw e;
      } finally {
        S.pwChange = false;
      }
      setMe(d);
      stopEvents(); // the session changed: listen with the new one
      startEvents();
      form.reset();
      if (was) { S.flash = 'Your password has been changed. Welcome to civnet.'; go('#/'); }
      else notice('Your password has been changed. Your other sessions have been logged out.');
    });
    const warn = me.must_change_password && h('p', { class: 'warning', id: 'must-change', tabindex: '-1' },
      'Your password was set by an administrator. Choose your own password below before using civnet: ' +
      'until then, the other pages are not available.');
    put(view(), h1, warn,
    dl([['Handle', me.handle], ['Name', me.name], ['Organization', me.org_name],
      ['Role', me.admin ? `Admin of ${me.org_name || 'your organization'}: manages its accounts and its profile` : 'Member']]),
    form);
    focusH(warn || h1);
  }

  // The admin's organization in the directory: what every member
  // organization sees of it, loaded and published through
  // /api/admin/profile.
  function profileSection(tok) {
    const body = h('div', null, loading());
    const sec = h('section', { class: 'card', 'aria-labelledby': 'prof-h' },
      h('h2', { id: 'prof-h' }, 'Your organization in the directory'),
      h('p', { class: 'privacy', role: 'note' }, 'Every member organization of the network sees this. Give only what you want ' +
        'all of them to know; you can change or clear it at any time (earlier versions stay in the network\'s history).'),
      body);
    const region = input('prof-region'), country = input('prof-country');
    const focus = input('prof-focus'), labels = input('prof-labels', { autocapitalize: 'none' });
    const contact = input('prof-contact', { autocapitalize: 'none', spellcheck: 'false' });
    const fields = { region, country, focus, label: labels, contact };
    const name = h('dd', { dir: 'auto' });
    const err = formError();
    const done = h('p', { class: 'notice', role: 'status' });
    const form = h('form', { class: 'stack' },
      h('div', { class: 'grid' }, field('Region', region), field('Country', country)),
      field('Focus areas (comma-separated)', focus, 'For example: water, health, education'),
      field('Labels (comma-separated)', labels, 'For example: women-led, youth-led'),
      field('Public contact (optional)', contact, 'An email or web address shows as a link. Leave it empty for none.'),
      err, done, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Publish profile')));
    const fill = (p) => {
      name.textContent = p.name || '';
      region.value = p.region || '';
      country.value = p.country || '';
      focus.value = (p.focus_areas || []).join(', ');
      labels.value = (p.labels || []).join(', ');
      contact.value = p.contact || '';
    };
    form.addEventListener('input', () => { done.textContent = ''; });
    onSubmit(form, err, async () => {
      done.textContent = '';
      for (const el of Object.values(fields)) el.removeAttribute('aria-invalid');
      let p;
      try {
        p = await api('POST', '/api/admin/profile', {
          region: region.value.trim(), country: country.value.trim(),
          focus_areas: parseList(focus.value), labels: parseList(labels.value), contact: contact.value.trim(),
        });
      } catch (e) {
        // The node's message names the field it refuses: that one is marked.
        const m = /^(?:a profile has at most \d+ )?"?(region|country|focus|label|contact)/i.exec(e.message || '');
        const el = m && fields[m[1].toLowerCase()];
        if (el && !e.handled) { el.setAttribute('aria-invalid', 'true'); el.focus(); }
        throw e;
      }
      if (tok !== S.token) return;
      fill(p);
      done.textContent = 'Your profile has been published: every member organization will see it in the directory.';
    });
    (async () => {
      let p;
      try { p = await api('GET', '/api/admin/profile'); } catch (e) {
        if (tok !== S.token || e.handled) return;
        S.pending = S.pending || !!e.network;
        body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, 'Your organization\'s profile could not be loaded: ' + e.message));
        return;
      }
      if (tok !== S.token) return;
      fill(p);
      body.replaceChildren(h('dl', { class: 'facts' }, h('div', null, h('dt', null, 'Name'), name)), form);
    })();
    return sec;
  }

  function screenAdmin() {
    const tok = startScreen('Administration');
    const h1 = heading('Administration');
    if (!S.me.admin) {
      put(view(), h1, P('This page is for your organization\'s admins: they manage its accounts and its profile ' +
        'in the directory. If something there needs changing, ask one of them.'));
      return focusH(h1);
    }
    const secrets = h('div');
    const list = h('ul', { class: 'accounts' }, h('li', null, loading()));
    const handle = input('new-handle', { required: true, autocapitalize: 'none', spellcheck: 'false' });
    const name = input('new-name', { required: true });
    const admin = h('input', { type: 'checkbox', id: 'new-admin', 'aria-describedby': 'new-admin-hint' });
    const err = formError();
    const form = h('form', { class: 'card stack', 'aria-labelledby': 'add-h' }, h('h2', { id: 'add-h' }, 'Add an account'),
      field('Handle', handle, 'The login: 2 to 32 of a–z, 0–9, dot, underscore, hyphen'), field('Name', name),
      h('div', { class: 'check' }, admin, h('label', { for: 'new-admin' }, 'Admin of your organization: manages its accounts and its profile')),
      h('p', { class: 'hint', id: 'new-admin-hint' }, 'Only your node\'s sysadmin can reset or disable an admin\'s account.'),
      err, h('button', { type: 'submit' }, 'Add account'));

    function showSecret(who, password, enabled) {
      const copy = () => (navigator.clipboard ? navigator.clipboard.writeText(password) : Promise.reject())
        .then(() => announce('Password copied.'), () => announce('Copying failed: select the password instead.'));
      const box = h('section', { class: 'secret', tabindex: '-1', 'aria-labelledby': 'secret-h' },
        h('h2', { id: 'secret-h' }, `Password for ${who}: shown once`), P(h('code', { class: 'pw' }, password)),
        P(`Hand it over securely: in person or through a trusted channel, not by ordinary email or chat. ${who} must choose their own password at their next login. It will not be shown again.`),
        enabled && P(`The account ${who} is enabled again.`),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: copy }, 'Copy'),
          h('button', { type: 'button', class: 'secondary', onclick: () => { box.remove(); h1.focus(); } }, 'Hide password')));
      secrets.replaceChildren(box);
      box.focus();
    }
    async function loadAccounts() {
      try {
        const d = await api('GET', '/api/admin/accounts');
        if (tok !== S.token) return;
        // The focus stays on the same account's row, if it was in the list.
        const was = list.contains(document.activeElement) && document.activeElement.closest('li');
        list.replaceChildren(...(d.accounts || []).map(row));
        if (was) {
          const li = [...list.children].find((x) => x.dataset.handle === was.dataset.handle);
          const to = li && li.querySelector('button, a');
          (to || list.closest('section').querySelector('h2')).focus();
        }
      } catch (e) {
        if (tok !== S.token || e.handled) return;
        S.pending = S.pending || !!e.network;
        alertMsg(e.message);
      }
    }
    async function act(a, what) {
      if (!window.confirm(what === 'disable'
        ? `Disable the account “${a.handle}”? They will no longer be able to log in.`
        : `Reset the password of “${a.handle}”? Their current password stops working; they must choose a new one at their next login.` +
          (a.disabled ? ' The account will be enabled again.' : ''))) return;
      alertMsg('');
      try {
        const d = await api('POST', `/api/admin/accounts/${enc(a.handle)}/${what}`, {});
        if (tok !== S.token) return;
        if (what === 'reset' && d.password) showSecret(a.handle, d.password, a.disabled);
        else notice(`The account ${a.handle} has been disabled.`);
        loadAccounts();
      } catch (e) {
        if (e.handled || tok !== S.token) return;
        alertMsg(e.message);
        if (e.code === 'admin_account' || e.status === 404) loadAccounts(); // it changed meanwhile
      }
    }
    function row(a) {
      const self = a.handle === S.me.handle;
      // An admin's account (their own included) is the sysadmin's to reset
      // or disable; the node refuses it here.
      return h('li', { class: 'account-row', 'data-handle': a.handle },
        h('div', null, h('strong', { dir: 'auto' }, a.handle), self && ' (you)', ' ',
          [a.admin && 'admin', a.disabled && 'disabled', a.must_change_password && 'must change password']
            .filter(Boolean).map((b) => h('span', { class: 'badge' + (b === 'disabled' ? ' off' : '') }, b)),
          h('div', { class: 'muted', dir: 'auto' }, [a.name, a.org_name].filter(Boolean).join(' · ')),
          // A disabled account has no Enable: a reset enables it again.
          a.disabled && !a.admin && h('p', { class: 'hint reenable', id: 'reenable-' + a.handle }, 'Resetting the password also enables the account again.')),
        a.admin ? h('p', { class: 'muted managed' }, self
          ? ['Your account: change your password under ', h('a', { href: '#/account' }, 'My account')]
          : 'An admin: managed by your node\'s sysadmin')
          : h('div', { class: 'actions' },
            !a.disabled && h('button', { type: 'button', class: 'secondary', 'aria-label': 'Disable ' + a.handle, onclick: () => act(a, 'disable') }, 'Disable'),
            h('button', { type: 'button', class: 'secondary', 'aria-label': 'Reset password of ' + a.handle,
              'aria-describedby': a.disabled ? 'reenable-' + a.handle : null, onclick: () => act(a, 'reset') }, 'Reset password')));
    }
    onSubmit(form, err, async () => {
      const d = await api('POST', '/api/admin/accounts', { handle: handle.value.trim(), name: name.value.trim(), admin: admin.checked });
      if (tok !== S.token) return;
      form.reset();
      const who = (d.account && d.account.handle) || 'the new account';
      if (d.password) showSecret(who, d.password);
      else notice(`The account ${who} has been added.`);
      loadAccounts();
    });
    put(view(), h1, h('p', { class: 'muted', dir: 'auto' }, `For the admins of ${S.me.org_name || 'your organization'}: ` +
      'how it appears in the network\'s directory, and its accounts on this node.'), secrets, profileSection(tok),
      h('section', { 'aria-labelledby': 'acc-h' }, h('h2', { id: 'acc-h', tabindex: '-1' }, 'Accounts'), list), form);
    focusH(h1);
    loadAccounts();
  }

  // ---- start ----
  async function boot() {
    S.bootPending = false;
    let d;
    try { d = await api('GET', '/api/me'); } catch (e) {
      if (e.handled) return; // 401: the login screen is shown
      S.bootPending = !!e.network;
      view().replaceChildren(P(e.network ? 'Connecting to the node…' : 'The node answered with an error: ' + e.message));
      return;
    }
    setMe(d);
    S.draftOwner = d.handle;
    S.ready = true;
    startEvents();
    render();
  }
  function init() {
    window.addEventListener('hashchange', render);
    // A menu link that is off (see navUpdate) goes nowhere: the page shows why.
    document.querySelector('header.top').addEventListener('click', (ev) => {
      const a = ev.target.closest('a[aria-disabled="true"]');
      if (!a) return;
      ev.preventDefault();
      const w = $('must-change');
      if (w && S.route === 'account') pointTo(w);
      else go('#/account');
    });
    $('skip').addEventListener('click', (ev) => {
      ev.preventDefault();
      focusH(view().querySelector('h1') || $('main'), true);
    });
    $('logout').addEventListener('click', async () => {
      try { await api('POST', '/api/logout', {}); } catch (e) {
        if (e.handled) return;
        if (e.network) return alertMsg(e.message);
      }
      S.drafts.clear();
      S.returnTo = null;
      toLogin('You have logged out.');
    });
    boot();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
