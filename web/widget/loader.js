/*! Auralix widget loader __AURALIX_VERSION__ */
// Consent-first: until the launcher is clicked this touches no storage or cookies, sends no
// request and loads no UI. The click sets window.__auralixBoot and loads BASE/widget/ui.js,
// which keeps its controller in __auralixBoot.ui. See README.md.
(function (w, d) {
  'use strict';
  var V = '__AURALIX_VERSION__', ID = 'auralix-widget-host';
  function dbg(e) { try { console.debug('[auralix]', e); } catch (_) { /* never throw */ } }
  // Shadow-root styles in px: host pages may reset everything or change the root font size.
  var STYLE = ':host{all:initial!important}' +
    '.ax-launcher{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483647;width:56px;height:56px;' +
    'border-radius:50%;background:var(--ax-c,#4f46e5);color:var(--ax-fg,#fff);display:flex;align-items:center;' +
    'justify-content:center;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}' +
    '.ax-launcher:focus-visible{outline:3px solid var(--ax-c,#4f46e5);outline-offset:3px}' +
    '.ax-launcher[aria-busy=true]{opacity:.7;cursor:progress}' +
    '.ax-launcher svg{width:28px;height:28px;fill:currentColor;pointer-events:none}' +
    ':host([data-position=bottom-left]) .ax-launcher{right:auto;left:20px}';

  function start() {
    var s = d.currentScript || d.querySelector('script[data-agent][src*="widget.js"]');
    var agent = s && s.getAttribute('data-agent');
    if (!agent) return;
    var u = new URL(s.src, location.href);
    var base = u.origin + u.pathname.replace(/\/[^/]*$/, ''); // the API sits next to widget.js
    var lang = /^ru/i.test(d.documentElement.lang) ? 'ru' : 'en';
    var color = s.getAttribute('data-color') || '';
    if (color && !w.CSS.supports('color', color)) color = '';
    var nonce = s.nonce || s.getAttribute('nonce') || ''; // lets ui.js and styles pass a nonce-based CSP
    var loading = false;

    function mount() {
      if (d.getElementById(ID)) return; // the snippet was pasted twice
      var host = d.createElement('div'), st = d.createElement('style'), b = d.createElement('button');
      var ns = 'http://www.w3.org/2000/svg', svg = d.createElementNS(ns, 'svg'), p = d.createElementNS(ns, 'path');
      host.id = ID;
      host.dataset.state = 'closed';
      if (s.getAttribute('data-position') === 'bottom-left') host.dataset.position = 'bottom-left';
      if (color) host.style.setProperty('--ax-c', color);
      var root = host.attachShadow({ mode: 'open' });
      st.nonce = nonce;
      st.textContent = STYLE;
      b.type = 'button';
      b.className = 'ax-launcher';
      b.setAttribute('aria-label', lang === 'ru' ? 'Открыть чат' : 'Open chat');
      b.setAttribute('aria-haspopup', 'dialog');
      b.setAttribute('aria-expanded', 'false');
      // Built without innerHTML: pages enforcing Trusted Types forbid it.
      svg.setAttribute('viewBox', '0 0 24 24');
      svg.setAttribute('aria-hidden', 'true');
      p.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
      svg.appendChild(p);
      b.appendChild(svg);
      root.appendChild(st);
      root.appendChild(b);
      d.body.appendChild(host);
      b.addEventListener('click', function () {
        try { click(host, root, b); } catch (e) { dbg(e); }
      });
    }

    function click(host, root, b) {
      var boot = w.__auralixBoot;
      if (boot && boot.ui) return boot.ui.toggle();
      if (loading) return;
      loading = true;
      b.setAttribute('aria-busy', 'true');
      w.__auralixBoot = {
        base: base, agent: agent, shadowRoot: root, host: host, launcher: b, lang: lang,
        color: color, nonce: nonce, version: V, open: true
      };
      var sc = d.createElement('script');
      sc.nonce = nonce;
      sc.src = base + '/widget/ui.js?v=' + encodeURIComponent(V);
      sc.onload = sc.onerror = function (ev) {
        loading = false;
        b.removeAttribute('aria-busy');
        if (ev.type === 'error') { sc.remove(); dbg('ui.js did not load'); } // the next click retries
      };
      d.head.appendChild(sc);
    }

    if (d.body) mount();
    else d.addEventListener('DOMContentLoaded', function () { try { mount(); } catch (e) { dbg(e); } });
  }

  try { start(); } catch (e) { dbg(e); }
})(window, document);
