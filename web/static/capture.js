// trcledger capture page: the live quote, the ICD-10 and service look-ups, and the offline
// queue. Captured encounters wait in IndexedDB, each with the Idempotency-Key it was given at
// capture and its captured_at, and are sent to /clinic/capture/encounters when the connection
// returns. The form works without this script (it then posts and shows the receipt).
(function () {
  'use strict';
  var form = document.getElementById('capture-form');
  var queueEl = document.getElementById('queue');
  if (!form || !queueEl || !window.indexedDB || !window.fetch) { return; }
  var L = queueEl.dataset;
  var user = form.dataset.user;
  var csrf = form.querySelector('input[name="_csrf"]').value;
  var ref = null;
  var ICD = /^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$/;

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(function () {});
  }

  function fmt(s) {
    var args = Array.prototype.slice.call(arguments, 1);
    return s.replace(/%[sd]/g, function () { return String(args.shift()); });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }
  function timeText(ms) {
    return new Date(ms).toLocaleString(document.documentElement.lang, { dateStyle: 'short', timeStyle: 'medium' });
  }

  // IndexedDB: the queue (one record per captured encounter, keyed by its Idempotency-Key) and
  // the time of the last sync per user.
  var dbp = null;
  function db() {
    if (!dbp) {
      dbp = new Promise(function (resolve, reject) {
        var r = indexedDB.open('trcledger-capture', 1);
        r.onupgradeneeded = function () {
          r.result.createObjectStore('queue', { keyPath: 'key' });
          r.result.createObjectStore('meta', { keyPath: 'name' });
        };
        r.onsuccess = function () { resolve(r.result); };
        r.onerror = function () { reject(r.error); };
      });
    }
    return dbp;
  }
  function store(name, mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(name, mode);
        var out = fn(t.objectStore(name));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function items() {
    return store('queue', 'readonly', function (s) { return s.getAll(); }).then(function (all) {
      return all.filter(function (i) { return i.user === user; }).sort(function (a, b) { return a.created - b.created; });
    });
  }
  function put(item) { return store('queue', 'readwrite', function (s) { s.put(item); }); }
  function remove(key) { return store('queue', 'readwrite', function (s) { s.delete(key); }); }
  function lastSync() {
    return store('meta', 'readonly', function (s) { return s.get('last_sync:' + user); }).then(function (m) { return m ? m.at : 0; });
  }
  function setLastSync(at) { return store('meta', 'readwrite', function (s) { s.put({ name: 'last_sync:' + user, at: at }); }); }

  // Rows: the script adds service lines and diagnoses as they are needed.
  function renumber(list, prefix) {
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.querySelectorAll('input, label').forEach(function (e) {
        ['id', 'for'].forEach(function (a) {
          var v = e.getAttribute(a);
          if (v) { e.setAttribute(a, v.replace(/_\d+$/, '_' + i)); }
        });
      });
    });
  }
  function addRow(listId) {
    var list = document.getElementById(listId);
    var last = list.lastElementChild;
    var row = last.cloneNode(true);
    row.querySelectorAll('input').forEach(function (i) {
      i.value = i.name === 'line_quantity' ? '1' : '';
      i.removeAttribute('aria-invalid');
    });
    row.querySelectorAll('.field-error').forEach(function (e) { e.remove(); });
    row.querySelectorAll('output').forEach(function (o) { o.textContent = ''; o.className = o.className.replace(' unknown', ''); });
    list.appendChild(row);
    renumber(list);
    return row;
  }
  var addLine = document.getElementById('add-line');
  var addDiag = document.getElementById('add-diagnosis');
  addLine.hidden = false; addDiag.hidden = false;
  addLine.addEventListener('click', function () { addRow('line-rows').querySelector('input').focus(); });
  addDiag.addEventListener('click', function () { addRow('diag-rows').querySelector('input').focus(); });

  function val(name) {
    var e = form.elements[name];
    return e ? e.value.trim() : '';
  }
  function lineRows() { return Array.prototype.slice.call(document.querySelectorAll('#line-rows > li')); }
  function diagInputs() { return Array.prototype.slice.call(document.querySelectorAll('#diag-rows input')); }

  // readForm is the encounter as the form holds it, in the shape the endpoints read; rows is
  // each sent line's row.
  function readForm() {
    var b = {
      contract_code: val('contract_code'), site_code: val('site_code'), external_id: val('external_id'),
      patient_id: val('patient_id'), beneficiary_category: val('beneficiary_category'), sex: val('sex'),
      birth_year: val('birth_year'), service_date: val('service_date'), kind: val('kind'),
      referral_number: val('referral_number'), referral_to_level: val('referral_to_level'),
      practitioner_ref: val('practitioner_ref'), diagnoses: [], lines: [],
      confirm_unknown_diagnoses: document.getElementById('confirm_unknown').checked
    };
    var rows = [];
    lineRows().forEach(function (li) {
      var s = li.querySelector('input[name="line_service"]').value.trim().toUpperCase();
      var q = li.querySelector('input[name="line_quantity"]').value.trim();
      if (s) { b.lines.push({ service_code: s, quantity: q || '1' }); rows.push(li); }
    });
    diagInputs().forEach(function (i) {
      var d = i.value.trim().toUpperCase();
      if (d) { b.diagnoses.push(d); }
    });
    return { body: b, rows: rows };
  }

  // Look-ups from the reference data (kept by the service worker for offline use).
  function loadReference() {
    return fetch('/clinic/capture/reference', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok || r.redirected || (r.headers.get('content-type') || '').indexOf('json') < 0) { return null; }
        return r.json();
      })
      .then(function (j) { if (j && j.username === user) { ref = j; contractChanged(); checkDiagnoses(); } })
      .catch(function () {});
  }
  function contractChanged() {
    if (!ref) { return; }
    var c = ref.contracts.filter(function (x) { return x.code === val('contract_code'); })[0];
    var dl = document.getElementById('service-list');
    dl.textContent = '';
    ref.services.forEach(function (s) {
      if (!c || c.services.indexOf(s.code) >= 0) {
        var o = el('option', '', s.name);
        o.value = s.code;
        dl.appendChild(o);
      }
    });
  }
  function icdFind(code) {
    if (!ref) { return null; }
    for (var i = 0; i < ref.icd10.codes.length; i++) {
      if (ref.icd10.codes[i][0] === code) { return ref.icd10.codes[i]; }
    }
    return null;
  }
  function icdSearch(q) {
    var uq = q.toUpperCase(), lq = q.toLowerCase(), first = [], rest = [];
    ref.icd10.codes.forEach(function (c) {
      if (c[0].indexOf(uq) === 0) { first.push(c); } else if (c[1].toLowerCase().indexOf(lq) >= 0) { rest.push(c); }
    });
    return first.concat(rest).slice(0, 40);
  }
  // checkDiagnoses shows each code's title, and flags a code not in a loaded national list.
  function checkDiagnoses() {
    var unknown = 0;
    diagInputs().forEach(function (i) {
      var out = i.parentNode.querySelector('output.icd-title');
      var code = i.value.trim().toUpperCase();
      out.className = 'icd-title';
      out.textContent = '';
      if (!code || !ref) { return; }
      var hit = icdFind(code);
      if (hit) {
        out.textContent = hit[1];
      } else if (ref.icd10.loaded && ICD.test(code)) {
        out.className = 'icd-title unknown';
        out.textContent = fmt(L.icdUnknown, code);
        unknown++;
      }
    });
    document.getElementById('confirm-unknown-field').hidden = unknown === 0 && !document.getElementById('confirm_unknown').checked;
    return unknown;
  }
  form.addEventListener('input', function (e) {
    if (e.target.name === 'diagnosis' && ref && e.target.value.trim().length >= 2) {
      var dl = document.getElementById('icd10-list');
      dl.textContent = '';
      icdSearch(e.target.value.trim()).forEach(function (c) {
        var o = el('option', '', c[1]);
        o.value = c[0];
        dl.appendChild(o);
      });
    }
    if (e.target.name === 'diagnosis') { checkDiagnoses(); }
    quoteSoon();
  });
  form.addEventListener('change', function (e) {
    if (e.target.name === 'contract_code') { contractChanged(); }
    quoteSoon();
  });

  // The live quote: the encounters service prices the form as a post would, and writes nothing.
  var quoteEl = document.getElementById('quote');
  var quoteTimer = null, quoteSeq = 0;
  function quoteSoon() {
    clearTimeout(quoteTimer);
    quoteTimer = setTimeout(quote, 350);
  }
  function quote() {
    var f = readForm();
    var note = document.getElementById('quote-note');
    lineRows().forEach(function (li) { var o = li.querySelector('.line-price'); o.textContent = ''; o.className = 'line-price'; });
    if (!f.body.lines.length || !f.body.contract_code) { quoteEl.hidden = true; return; }
    quoteEl.hidden = false;
    if (!navigator.onLine) {
      note.textContent = L.offlinePrice;
      document.getElementById('quote-total').textContent = '—';
      document.querySelector('#quote-payers tbody').textContent = '';
      return;
    }
    var seq = ++quoteSeq;
    fetch('/clinic/capture/quote', {
      method: 'POST', credentials: 'same-origin', redirect: 'manual',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Accept: 'application/json' },
      body: JSON.stringify(f.body)
    }).then(function (r) {
      if (!r.ok || (r.headers.get('content-type') || '').indexOf('json') < 0) { throw new Error('quote ' + r.status); }
      return r.json();
    }).then(function (q) {
      if (seq !== quoteSeq) { return; }
      note.textContent = '';
      q.lines.forEach(function (l) {
        var li = f.rows[l.index];
        if (li) { li.querySelector('.line-price').textContent = l.amount_text; }
      });
      f.rows.forEach(function (li, i) {
        var msg = q.problems['lines[' + i + '].service_code'] || q.problems['lines[' + i + '].quantity'];
        if (msg) { var o = li.querySelector('.line-price'); o.textContent = msg; o.className = 'line-price warn'; }
      });
      var problems = ['contract_code', 'service_date', 'site_code', 'lines'].map(function (k) { return q.problems[k]; }).filter(Boolean);
      note.textContent = problems.join(' ');
      document.getElementById('quote-total').textContent = q.total;
      var tb = document.querySelector('#quote-payers tbody');
      tb.textContent = '';
      q.payers.forEach(function (p) {
        var tr = el('tr');
        var a = el('td', '', p.payer_name ? p.payer_name + ' (' + p.payer_code + ')' : p.payer_code);
        a.setAttribute('data-label', tb.parentNode.querySelector('th').textContent);
        var b = el('td', 'num', p.amount_text);
        b.setAttribute('data-label', tb.parentNode.querySelectorAll('th')[1].textContent);
        tr.appendChild(a); tr.appendChild(b);
        tb.appendChild(tr);
      });
    }).catch(function () {
      if (seq === quoteSeq) { note.textContent = L.offlinePrice; }
    });
  }

  // Capture: the encounter goes into the queue with its key and the time of capture, then is
  // sent at once when there is a connection.
  var topProblem = null;
  function showTopProblem(msg) {
    if (!topProblem) {
      topProblem = el('p', 'problem');
      topProblem.setAttribute('role', 'alert');
      form.insertBefore(topProblem, form.firstChild.nextSibling);
    }
    topProblem.textContent = msg;
    topProblem.hidden = !msg;
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var f = readForm();
    var b = f.body;
    var missing = false;
    ['contract_code', 'site_code', 'service_date', 'kind', 'external_id', 'patient_id', 'beneficiary_category'].forEach(function (n) {
      var i = form.elements[n];
      var bad = !b[n];
      if (bad) { i.setAttribute('aria-invalid', 'true'); missing = true; } else if (!i.closest('.field').querySelector('.field-error')) { i.removeAttribute('aria-invalid'); }
    });
    if (!b.lines.length) { lineRows()[0].querySelector('input').setAttribute('aria-invalid', 'true'); missing = true; }
    if (missing) {
      showTopProblem(L.required);
      form.querySelector('[aria-invalid="true"]').focus();
      return;
    }
    if (checkDiagnoses() > 0 && !b.confirm_unknown_diagnoses) {
      showTopProblem(L.icdConfirmFirst);
      document.getElementById('confirm_unknown').focus();
      return;
    }
    showTopProblem('');
    var now = new Date();
    b.captured_at = now.toISOString();
    var item = {
      key: uuid(), user: user, created: now.getTime(), captured_at: b.captured_at, state: 'waiting',
      body: JSON.stringify(b),
      summary: { external_id: b.external_id, service_date: b.service_date, kind: b.kind, services: b.lines.map(function (l) { return l.service_code + ' × ' + l.quantity; }).join(', ') }
    };
    put(item).then(function () {
      clearForm();
      return render();
    }).then(function () {
      announce(L.saved);
      if (navigator.onLine) { sync(); }
    });
  });

  function clearForm() {
    ['external_id', 'patient_id', 'sex', 'birth_year', 'referral_number', 'referral_to_level', 'practitioner_ref', 'beneficiary_category'].forEach(function (n) {
      form.elements[n].value = '';
    });
    [['line-rows', 1], ['diag-rows', 1]].forEach(function (p) {
      var list = document.getElementById(p[0]);
      while (list.children.length > p[1]) { list.lastElementChild.remove(); }
      list.querySelectorAll('input').forEach(function (i) { i.value = i.name === 'line_quantity' ? '1' : ''; i.removeAttribute('aria-invalid'); });
      list.querySelectorAll('output').forEach(function (o) { o.textContent = ''; });
    });
    form.querySelectorAll('.field-error').forEach(function (e) { e.remove(); });
    form.querySelectorAll('[aria-invalid]').forEach(function (e) { e.removeAttribute('aria-invalid'); });
    document.getElementById('confirm_unknown').checked = false;
    document.getElementById('confirm-unknown-field').hidden = true;
    quoteEl.hidden = true;
    form.elements.external_id.focus();
  }
  function fillForm(b) {
    Object.keys(b).forEach(function (k) {
      var e = form.elements[k];
      if (e && e.tagName && typeof b[k] === 'string') { e.value = b[k]; }
    });
    var lines = document.getElementById('line-rows'), diags = document.getElementById('diag-rows');
    while (lines.children.length < b.lines.length) { addRow('line-rows'); }
    while (diags.children.length < b.diagnoses.length) { addRow('diag-rows'); }
    b.lines.forEach(function (l, i) {
      lines.children[i].querySelector('input[name="line_service"]').value = l.service_code;
      lines.children[i].querySelector('input[name="line_quantity"]').value = l.quantity;
    });
    b.diagnoses.forEach(function (d, i) { diags.children[i].querySelector('input').value = d; });
    document.getElementById('confirm_unknown').checked = !!b.confirm_unknown_diagnoses;
    contractChanged();
    checkDiagnoses();
    quoteSoon();
  }

  // Sync: each waiting encounter is sent with its own key, oldest first. 2xx: its receipt is
  // kept (and the patient's id dropped from the device). A 4xx with problems stays, marked for
  // the nurse to correct or discard, and is not sent again. A network error, a 5xx, 408 or 429
  // stops the round and it is tried again later; a lost session waits for a new sign-in.
  var syncing = false, retryTimer = null, retryDelay = 5000, signedOut = false, netNote = '';
  function sync() {
    if (syncing || !navigator.onLine) { return Promise.resolve(); }
    syncing = true;
    clearTimeout(retryTimer);
    netNote = L.sending;
    renderStatus();
    return items().then(function (all) {
      var waiting = all.filter(function (i) { return i.state === 'waiting'; });
      var step = function (k) {
        if (k >= waiting.length) { return 'done'; }
        return send(waiting[k]).then(function (outcome) { return outcome === 'next' ? step(k + 1) : outcome; });
      };
      return step(0);
    }).then(function (outcome) {
      syncing = false;
      netNote = '';
      if (outcome === 'done') {
        signedOut = false;
        retryDelay = 5000;
        return setLastSync(Date.now());
      }
      if (outcome === 'signed_out') { signedOut = true; netNote = L.signedOut; }
      if (outcome === 'retry') { netNote = L.retry; }
      retryTimer = setTimeout(sync, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    }, function () { syncing = false; netNote = L.retry; retryTimer = setTimeout(sync, retryDelay); })
      .then(render);
  }
  function send(item) {
    return fetch('/clinic/capture/encounters', {
      method: 'POST', credentials: 'same-origin', redirect: 'manual',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf, 'Idempotency-Key': item.key },
      body: item.body
    }).then(function (r) {
      var json = (r.headers.get('content-type') || '').indexOf('json') >= 0;
      if (r.type === 'opaqueredirect' || (r.status === 403 && !json)) { return 'signed_out'; }
      if (r.status === 200 || r.status === 201) {
        return r.json().then(function (receipt) {
          item.state = 'synced'; item.receipt = receipt; item.body = null; item.problems = null; item.synced = Date.now();
          return put(item).then(function () { return 'next'; });
        });
      }
      if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429 && json) {
        return r.json().then(function (p) {
          item.state = 'failed'; item.problems = p.problems || {}; item.message = p.message || '';
          return put(item).then(function () { return 'next'; });
        });
      }
      return 'retry';
    }, function () { return 'retry'; });
  }

  // Rendering of the queue and its status.
  var statusEl = document.getElementById('queue-status');
  var netEl = document.getElementById('net-status');
  var listEl = document.getElementById('queue-items');
  var noteEl = document.getElementById('queue-note'), noteTimer = null;
  function announce(msg) {
    noteEl.textContent = msg;
    noteEl.hidden = false;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(function () { noteEl.hidden = true; }, 6000);
  }
  function renderStatus() {
    netEl.className = 'net' + (navigator.onLine ? '' : ' offline');
    netEl.textContent = !navigator.onLine ? L.offline : (netNote || (signedOut ? L.signedOut : L.connected));
  }
  function render() {
    renderStatus();
    return Promise.all([items(), lastSync()]).then(function (r) {
      var all = r[0], last = r[1];
      var unsent = all.filter(function (i) { return i.state !== 'synced'; }).length;
      var head = unsent > 0 ? fmt(L.waiting, unsent) : L.noneWaiting;
      statusEl.textContent = head + ' · ' + (last ? fmt(L.lastSync, timeText(last)) : L.neverSynced);
      statusEl.dataset.waiting = String(unsent);
      listEl.textContent = '';
      all.slice().reverse().forEach(function (i) { listEl.appendChild(renderItem(i)); });
      document.getElementById('clear-receipts').hidden = !all.some(function (i) { return i.state === 'synced'; });
    });
  }
  function renderItem(i) {
    var li = el('li', i.state);
    li.dataset.key = i.key;
    var s = i.summary;
    li.appendChild(el('div', 'what', s.external_id + ' · ' + s.service_date + ' · ' + ((ref && ref.labels['kind.' + s.kind]) || s.kind)));
    li.appendChild(el('div', 'services', s.services));
    var state = { waiting: L.stateWaiting, failed: L.stateFailed, synced: L.stateSynced }[i.state];
    var st = el('div', 'state');
    st.appendChild(el('span', 'badge ' + ({ waiting: 'warn', failed: 'bad', synced: 'ok' }[i.state]), state));
    st.appendChild(document.createTextNode(' ' + L.captured + ': ' + timeText(new Date(i.captured_at).getTime())));
    li.appendChild(st);
    if (i.state === 'failed') {
      var ul = el('ul', 'problems');
      if (i.message) { ul.appendChild(el('li', '', i.message)); }
      Object.keys(i.problems || {}).forEach(function (k) { ul.appendChild(el('li', '', i.problems[k])); });
      li.appendChild(ul);
      var act = el('div', 'actions');
      var edit = el('button', '', L.edit);
      edit.type = 'button';
      edit.addEventListener('click', function () {
        var b = JSON.parse(i.body);
        remove(i.key).then(function () { fillForm(b); render(); form.elements.external_id.focus(); });
      });
      var discard = el('button', 'danger', L.discard);
      discard.type = 'button';
      discard.addEventListener('click', function () {
        if (window.confirm(L.discardConfirm)) { remove(i.key).then(render); }
      });
      act.appendChild(edit); act.appendChild(discard);
      li.appendChild(act);
    }
    if (i.state === 'synced' && i.receipt) {
      var rc = el('div', 'receipt');
      var idl = el('div', '', L.receipt + ': ');
      idl.appendChild(el('code', 'receipt-id', i.receipt.id));
      rc.appendChild(idl);
      var tot = el('div', '', L.total + ': ');
      tot.appendChild(el('strong', 'receipt-total', i.receipt.total_text));
      rc.appendChild(tot);
      var sh = el('ul', 'receipt-shares');
      i.receipt.shares.forEach(function (p) { sh.appendChild(el('li', '', (p.payer_name || p.payer_code) + ': ' + p.amount_text)); });
      rc.appendChild(sh);
      li.appendChild(rc);
    }
    return li;
  }
  document.getElementById('sync-now').addEventListener('click', function () { retryDelay = 5000; sync(); });
  document.getElementById('clear-receipts').addEventListener('click', function () {
    items().then(function (all) {
      return Promise.all(all.filter(function (i) { return i.state === 'synced'; }).map(function (i) { return remove(i.key); }));
    }).then(render);
  });
  window.addEventListener('online', function () { retryDelay = 5000; render(); sync(); quoteSoon(); });
  window.addEventListener('offline', function () { render(); quoteSoon(); });

  queueEl.hidden = false;
  loadReference();
  render().then(function () { if (navigator.onLine) { sync(); } });
})();
