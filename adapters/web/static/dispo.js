// dispo: keeps a consultation screen true without reloading it. The page
// works without this script; with it, the page follows the server's live
// stream (/flux) and swaps in its main element when the log moved, and the
// freshness bands age in place as time passes.
(function () {
  'use strict';
  var body = document.body;
  // The server's clock, not the workstation's, decides the bands.
  var skew = Date.parse(body.getAttribute('data-now')) - Date.now();
  var limits = [3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600];
  var labels = ['< 1 h', '< 3 h', '< 6 h', '< 12 h', '< 24 h', '> 24 h'];
  var titles = ['moins d\u2019une heure', 'moins de 3 heures', 'moins de 6 heures', 'moins de 12 heures', 'moins de 24 heures', 'plus de 24 heures'];
  var week = 7 * 24 * 3600;

  function age() {
    var now = Date.now() + skew;
    var cells = document.querySelectorAll('[data-at]');
    for (var i = 0; i < cells.length; i++) {
      var el = cells[i];
      var secs = Math.max(0, (now - Date.parse(el.getAttribute('data-at'))) / 1000);
      var b = 0;
      while (b < limits.length && secs >= limits[b]) b++;
      for (var k = 0; k < 6; k++) el.classList.remove('b' + k);
      el.classList.add('b' + b);
      var late = secs >= week;
      el.classList.toggle('retard', late);
      var label = el.querySelector('.bande');
      if (label) label.textContent = labels[b] + (late ? ' \u00b7 en retard' : '');
      el.title = 'mis \u00e0 jour il y a ' + titles[b] + (late ? ' : la d\u00e9claration hebdomadaire manque' : '');
    }
  }
  setInterval(age, 30000);
  // A tab brought back to the front is aged at once, not up to 30 s later.
  document.addEventListener('visibilitychange', age);

  var src = body.getAttribute('data-live');
  if (!src || !window.EventSource || !window.fetch) return;
  var status = document.getElementById('etat-direct');
  var main = document.getElementById('contenu');
  var busy = false, again = false, ended = false;

  function say(text, cut) {
    status.textContent = text;
    status.classList.toggle('coupe', !!cut);
  }

  function refresh() {
    if (ended) return;
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { 'X-Dispo-Partial': '1' }, credentials: 'same-origin', redirect: 'manual' })
      .then(function (r) {
        if (r.type === 'opaqueredirect' || r.status === 401 || r.status === 403 || r.status === 404) {
          ended = true;
          es.close();
          say('Cette page n\u2019est plus accessible (session termin\u00e9e ou lien d\u2019affichage r\u00e9voqu\u00e9) : rechargez-la. Les chiffres affich\u00e9s ne se mettent plus \u00e0 jour.', true);
          return null;
        }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (!html) return;
        var t = document.createElement('template');
        t.innerHTML = html;
        var fresh = t.content.querySelector('main');
        if (!fresh) return;
        var focused = document.activeElement && document.activeElement.id;
        main.replaceWith(fresh);
        main = fresh;
        age();
        if (focused) {
          var el = document.getElementById(focused);
          if (el) el.focus();
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var es, lost = false;
  function follow() {
    es = new EventSource(src);
    es.addEventListener('position', function (e) {
      if (lost) { lost = false; say(''); }
      if (Number(e.data) > Number(main.getAttribute('data-position'))) refresh();
    });
    es.addEventListener('open', function () {
      if (lost) { lost = false; say(''); refresh(); }
    });
    es.addEventListener('error', function () {
      if (ended) return;
      lost = true;
      say('Connexion au service perdue : reconnexion en cours\u2026 Les chiffres affich\u00e9s peuvent ne plus \u00eatre \u00e0 jour.', true);
      // The browser retries by itself unless the server refused the stream
      // (a restart, a revoked link): then this page asks again, and the
      // refresh says what happened.
      if (es.readyState === EventSource.CLOSED) {
        setTimeout(function () { if (!ended) { refresh(); follow(); } }, 5000);
      }
    });
  }
  follow();
  // Fallback: should the stream stay silent, the page is refreshed anyway.
  setInterval(function () { if (lost) refresh(); }, 60000);
})();
