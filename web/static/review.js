// trcledger: keyboard decisions on a statement's lines. The page works without it (every line
// has its own form); with it, j/k move between lines, a approves, r rejects (the reason gets
// focus), d adjusts (the amount gets focus), Enter saves, Esc goes back to the line. Decisions
// are sent with fetch and the X-CSRF-Token header, and the line and the progress are updated
// in place.
(function () {
  'use strict';
  var table = document.getElementById('lines');
  var help = document.getElementById('keys-help');
  if (!table || !help || !window.fetch) { return; }
  help.hidden = false;
  var csrfInput = document.querySelector('input[name="_csrf"]');
  var csrf = csrfInput ? csrfInput.value : '';
  var bar = document.getElementById('progress-bar');
  var text = document.getElementById('progress-text');
  var alertBox = document.createElement('p');
  alertBox.className = 'problem';
  alertBox.setAttribute('role', 'alert');
  alertBox.hidden = true;
  help.parentNode.insertBefore(alertBox, help.nextSibling);
  var current = null;

  function rows() { return Array.prototype.slice.call(table.querySelectorAll('tbody tr.line')); }

  function setCurrent(tr, focus) {
    if (current && current !== tr) { current.classList.remove('current'); }
    current = tr;
    if (!tr) { return; }
    tr.classList.add('current');
    if (focus !== false) {
      tr.focus();
      tr.scrollIntoView({ block: 'nearest', inline: 'start' });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var i = current ? all.indexOf(current) : -1;
    i = Math.max(0, Math.min(all.length - 1, i + step));
    setCurrent(all[i]);
  }

  function field(tr, cls) { return tr ? tr.querySelector('form.decide .' + cls) : null; }

  function send(form, then) {
    var tr = form.closest('tr');
    tr.setAttribute('aria-busy', 'true');
    alertBox.hidden = true;
    fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams(new FormData(form)),
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' }
    }).then(function (res) {
      return res.json();
    }).then(function (d) {
      tr.removeAttribute('aria-busy');
      if (d.row) {
        var holder = document.createElement('tbody');
        holder.innerHTML = d.row.trim();
        var fresh = holder.firstElementChild;
        var wasCurrent = current === tr;
        tr.replaceWith(fresh);
        if (wasCurrent) { current = null; }
        tr = fresh;
      }
      if (d.ok) {
        if (bar) { bar.max = d.total; bar.value = d.decided; bar.textContent = d.percent + '%'; }
        if (text) { text.textContent = d.progress; }
        then(tr);
        return;
      }
      setCurrent(tr, false);
      var bad = tr.querySelector('[aria-invalid="true"]');
      if (bad) { bad.focus(); } else if (d.message) { alertBox.textContent = d.message; alertBox.hidden = false; }
    }).catch(function () {
      // No answer (offline, server down): send the form the ordinary way.
      tr.removeAttribute('aria-busy');
      form.submit();
    });
  }

  table.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.matches('form.decide')) { return; }
    e.preventDefault();
    send(form, function (tr) { setCurrent(tr); });
  });

  table.addEventListener('focusin', function (e) {
    var tr = e.target.closest('tr.line');
    if (tr && tr !== current) { setCurrent(tr, false); }
  });

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target;
    var inField = t && t.matches && t.matches('input, select, textarea, button, a');
    if (inField) {
      var form = t.closest && t.closest('form.decide');
      if (!form) { return; }
      if (e.key === 'Escape') {
        e.preventDefault();
        setCurrent(form.closest('tr'));
      } else if (e.key === 'Enter' && t.tagName === 'SELECT') {
        e.preventDefault();
        send(form, function (tr) { setCurrent(tr); });
      }
      return;
    }
    var select;
    switch (e.key) {
    case 'j':
      e.preventDefault();
      move(1);
      break;
    case 'k':
      e.preventDefault();
      move(-1);
      break;
    case 'a':
      select = field(current, 'f-decision');
      if (!select) { return; }
      e.preventDefault();
      select.value = 'approve';
      send(select.form, function (tr) { setCurrent(tr); move(1); });
      break;
    case 'r':
    case 'd':
      select = field(current, 'f-decision');
      if (!select) { return; }
      e.preventDefault();
      select.value = e.key === 'r' ? 'reject' : 'adjust';
      field(current, e.key === 'r' ? 'f-reason' : 'f-amount').focus();
      break;
    case '?':
      e.preventDefault();
      help.setAttribute('tabindex', '-1');
      help.focus();
      break;
    }
  });
})();
