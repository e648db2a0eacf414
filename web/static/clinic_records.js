// trcledger, clinic records: the monthly CSV upload with progress. Without this script the
// form posts and the server answers with the result page; with it, the file is sent by
// XMLHttpRequest, whose upload progress events say how much of the file has been sent, and the
// result page is opened when the server has imported it.
(function () {
  'use strict';
  var form = document.getElementById('upload-form');
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  function size(n) {
    if (n < 1024 * 1024) { return (n / 1024).toFixed(0) + ' KB'; }
    return (n / 1024 / 1024).toFixed(1) + ' MB';
  }
  function fill(template, args) {
    var i = 0;
    return template.replace(/%[sd]/g, function () { return args[i++]; });
  }
  form.addEventListener('submit', function (ev) {
    var file = form.querySelector('input[type=file]');
    if (!file || !file.files || file.files.length === 0) { return; } // the server says what is missing
    ev.preventDefault();
    var box = document.getElementById('upload-progress');
    var bar = document.getElementById('upload-bar');
    var status = document.getElementById('upload-status');
    var button = document.getElementById('upload-submit');
    box.hidden = false;
    bar.value = 0;
    button.disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('X-CSRF-Token', form.querySelector('input[name=_csrf]').value);
    xhr.upload.addEventListener('progress', function (e) {
      if (!e.lengthComputable) { return; }
      bar.max = e.total;
      bar.value = e.loaded;
      status.textContent = fill(status.dataset.sent, [size(e.loaded), size(e.total)]);
    });
    xhr.upload.addEventListener('load', function () {
      bar.removeAttribute('value'); // indeterminate: the server is storing the last rows
      status.textContent = status.dataset.processing;
    });
    xhr.addEventListener('load', function () {
      var url = xhr.responseURL || '';
      if (xhr.status === 200 && url && url.indexOf('/clinic/upload/') >= 0) {
        window.location.assign(url); // the result page
        return;
      }
      // The form again with the reason next to the file field (or an error page).
      var doc = new DOMParser().parseFromString(xhr.responseText, 'text/html');
      var main = doc.querySelector('main');
      if (main) {
        document.querySelector('main').replaceWith(main);
        var script = document.createElement('script');
        script.src = '/static/clinic_records.js';
        document.body.appendChild(script);
        var invalid = main.querySelector('[aria-invalid="true"]');
        if (invalid) { invalid.focus(); } else { main.focus(); }
      }
    });
    xhr.addEventListener('error', function () {
      status.textContent = status.dataset.failed;
      button.disabled = false;
    });
    xhr.send(new FormData(form));
  });
})();
