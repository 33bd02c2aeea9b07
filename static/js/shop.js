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

// Recommendations report back what became of them, in batches: which were seen (half in
// view), which were clicked, and whether a product reached through one went into the cart.
// Everything queued goes out in one request when the visitor clicks one or leaves the page.
(function () {
  "use strict";
  var ENDPOINT = "/api/v1/recommendations/events/";
  var LAST = "rec:last";
  var queue = [];

  function flush() {
    if (!queue.length || !window.fetch) {
      return;
    }
    var headers = { "Content-Type": "application/json" };
    var token = document.querySelector('meta[name="csrf-token"]');
    if (token) {
      headers["X-CSRFToken"] = token.content;
    }
    var body = JSON.stringify({ events: queue.splice(0, 200) });
    fetch(ENDPOINT, {
      method: "POST",
      body: body,
      headers: headers,
      keepalive: true,
      credentials: "same-origin",
    }).catch(function () {});
  }

  function event(slot, tracking, product, kind) {
    queue.push({ slot: slot, tracking: tracking, product: Number(product), kind: kind });
  }

  document.querySelectorAll("[data-rec-slot]").forEach(function (section) {
    var slot = section.getAttribute("data-rec-slot");
    var cards = section.querySelectorAll("[data-rec]");
    if ("IntersectionObserver" in window) {
      var watcher = new IntersectionObserver(
        function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              var card = entry.target;
              event(slot, card.dataset.rec, card.dataset.product, "impression");
              watcher.unobserve(card);
            }
          });
        },
        { threshold: 0.5 }
      );
      cards.forEach(function (card) {
        watcher.observe(card);
      });
    }
    cards.forEach(function (card) {
      card.addEventListener("click", function () {
        event(slot, card.dataset.rec, card.dataset.product, "click");
        var link = card.querySelector("a[href]");
        try {
          sessionStorage.setItem(
            LAST,
            JSON.stringify({
              slot: slot,
              tracking: card.dataset.rec,
              product: card.dataset.product,
              page: link ? new URL(link.href, location.href).pathname : "",
            })
          );
        } catch (e) {
          // Private mode without storage: the click still counts, the cart cannot be linked.
        }
        flush();
      });
    });
  });

  // A product page reached through a recommendation: its cart addition counts for it.
  document.querySelectorAll("form.add-to-cart").forEach(function (form) {
    form.addEventListener("submit", function () {
      var origin = null;
      try {
        origin = JSON.parse(sessionStorage.getItem(LAST) || "null");
      } catch (e) {
        origin = null;
      }
      if (origin && origin.page === location.pathname) {
        sessionStorage.removeItem(LAST);
        event(origin.slot, origin.tracking, origin.product, "cart");
        flush();
      }
    });
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      flush();
    }
  });
  window.addEventListener("pagehide", flush);
})();
