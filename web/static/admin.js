// trcledger admin pages: the organization a role is bound to. Clinic staff are bound to a
// provider, reviewers to a payer, admin and finance to none; the select offers only those. The
// form works without this (the server says what is wrong).
(function () {
  'use strict';
  document.querySelectorAll('select[data-org-select]').forEach(function (org) {
    var role = org.form && org.form.elements.namedItem('role');
    if (!role) { return; }
    function apply() {
      var bound = role.value === 'clinic' || role.value === 'reviewer';
      org.querySelectorAll('optgroup').forEach(function (g) {
        var on = g.getAttribute('data-role') === role.value;
        g.disabled = !on;
        g.hidden = !on;
      });
      var sel = org.options[org.selectedIndex];
      if (sel && sel.parentNode.tagName === 'OPTGROUP' && sel.parentNode.disabled) {
        org.value = '';
      }
    }
    role.addEventListener('change', apply);
    apply();
  });
})();
