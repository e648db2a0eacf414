// trcledger, clinic import jobs: while a job is queued or running, fetch the page again every
// few seconds and put its list of jobs in place of this one, so the counts move without a
// reload. Without this script, reloading the page shows the same progress.
(function () {
  'use strict';
  var every = 2000;
  function poll() {
    var box = document.getElementById('import-jobs');
    if (!box || !box.dataset.poll || !window.fetch || !window.DOMParser) { return; }
    window.setTimeout(function () {
      fetch(box.dataset.poll, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
        .then(function (res) { return res.ok ? res.text() : Promise.reject(res.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var fresh = doc.getElementById('import-jobs');
          if (!fresh) { return; }
          box.replaceWith(fresh);
          poll();
        })
        .catch(function () { every = Math.min(every * 2, 30000); poll(); });
    }, every);
  }
  poll();
}());
