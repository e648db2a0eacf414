// trcledger: progressive enhancement shared by every page. Pages work without it.
(function () {
  'use strict';
  // The language switcher sends itself when a language is picked (its button stays for
  // keyboards and browsers without JavaScript).
  document.querySelectorAll('select[data-autosubmit]').forEach(function (sel) {
    sel.addEventListener('change', function () { sel.form.submit(); });
  });
  // A form field named in an error gets focus, so a screen reader hears the first problem.
  var firstInvalid = document.querySelector('[aria-invalid="true"]');
  if (firstInvalid) { firstInvalid.focus(); }
})();
