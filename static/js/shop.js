// Small enhancements on top of pages that work without JavaScript.
(function () {
  "use strict";

  // On phones the filter panel starts folded so that the products come first, unless a
  // filter is in use (then the visitor sees what is applied): a line of script right after the
  // panel in catalog/product_list.html does it, before the products are drawn.

  // Empty filter fields are left out of the address, so that shared links stay short.
  document.querySelectorAll("form.filter-form, form.sort-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (field.name && field.value === "" && field.type !== "checkbox") {
          field.disabled = true;
          field.setAttribute("data-was-empty", "");
        }
      });
    });
  });
  // Coming back with the browser's back button shows the page as it was left: re-enable.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-was-empty]").forEach(function (field) {
      field.disabled = false;
      field.removeAttribute("data-was-empty");
    });
  });
})();
