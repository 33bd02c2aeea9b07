// Re-pricing the checkout in place. Choosing a delivery method, changing the country or
// applying a voucher posts the form for the same page with a new quote, and the parts that
// show prices (marked data-reprice) are swapped for the new ones: what was typed, the card
// number too, stays where it is. Without JavaScript the same buttons re-render the page.
(function () {
  "use strict";
  var form = document.getElementById("checkout-form");
  if (!form || !window.fetch || !window.DOMParser || !window.FormData) { return; }
  var status = document.getElementById("reprice-status");
  // Every choice re-prices by itself, so the page's own update button is not needed; with it
  // gone, Enter in a field presses "Apply" (the next button), which re-prices, never pays.
  function removeUpdateButton() {
    var update = document.getElementById("reprice");
    if (update) { update.remove(); }
  }
  removeUpdateButton();
  var latest = 0;

  function busy(on) {
    var summary = document.getElementById("order-summary");
    var place = document.getElementById("place-order");
    if (summary) { summary.setAttribute("aria-busy", on ? "true" : "false"); }
    if (place) { place.disabled = on; }
  }

  function fallBack(action) {
    // The page itself can do everything the script does: submit the form as it is.
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "action";
    input.value = action;
    form.appendChild(input);
    HTMLFormElement.prototype.submit.call(form);
  }

  function swap(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var focused = document.activeElement && document.activeElement.id;
    document.querySelectorAll("[data-reprice]").forEach(function (old) {
      var fresh = old.id && page.getElementById(old.id);
      if (fresh) { old.replaceWith(document.importNode(fresh, true)); }
    });
    removeUpdateButton();  // the new delivery options came with one
    if (focused && (!document.activeElement || document.activeElement === document.body)) {
      var again = document.getElementById(focused);
      if (again) { again.focus(); }
    }
    var total = document.getElementById("summary-total");
    if (status) { status.textContent = total ? "Total updated: " + total.textContent : ""; }
  }

  function reprice(action) {
    var data = new FormData(form);
    data.set("action", action);
    var ticket = ++latest;
    busy(true);
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST",
      body: data,
      credentials: "same-origin"
    }).then(function (response) {
      if (response.redirected) { window.location.assign(response.url); return null; }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (html) {
      if (html === null || ticket !== latest) { return; }
      swap(html);
      busy(false);
    }).catch(function () {
      if (ticket === latest) { fallBack(action); }
    });
  }

  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "shipping_method" || name === "country") { reprice("update"); }
  });
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.name === "action" && submitter.value !== "place") {
      event.preventDefault();
      reprice(submitter.value);
    }
  });
})();
