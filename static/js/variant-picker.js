// The option picker of a product with variants (size, colour, ...). The page works without
// it: the form posts the chosen options and the cart finds the variant. This script shows the
// chosen variant's price, stock, article number and picture as soon as an option is picked.
(function () {
  "use strict";

  var form = document.querySelector("form[data-variant-picker]");
  var dataNode = document.getElementById("variant-data");
  if (!form || !dataNode) {
    return;
  }
  var data = JSON.parse(dataNode.textContent);
  var price = document.getElementById("product-price");
  var stock = document.getElementById("availability");
  var sku = document.getElementById("product-sku");
  var media = document.getElementById("product-picture");
  var quantity = document.getElementById("quantity");
  var button = document.getElementById("add-to-cart");
  var initial = {
    price: price.innerHTML,
    sku: sku ? sku.textContent : "",
    // The parent's picture (or placeholder): shown again for a variant without its own.
    media: media ? media.innerHTML : "",
  };

  function chosen() {
    var options = {};
    form.querySelectorAll("input[type=radio][data-option]:checked").forEach(function (input) {
      options[input.getAttribute("data-option")] = input.value;
    });
    return options;
  }

  function axesCount() {
    var names = {};
    form.querySelectorAll("input[type=radio][data-option]").forEach(function (input) {
      names[input.getAttribute("data-option")] = true;
    });
    return Object.keys(names).length;
  }

  function matching(options) {
    return data.variants.find(function (variant) {
      var keys = Object.keys(variant.options);
      return (
        keys.length === Object.keys(options).length &&
        keys.every(function (key) {
          return variant.options[key] === options[key];
        })
      );
    });
  }

  function setStock(state, label) {
    stock.className = "stock stock-" + state;
    stock.textContent = label;
  }

  function showPicture(variant) {
    if (!media) {
      return;
    }
    // A variant's own picture when it has one (data.variants[].picture, drawn by the page
    // as it draws the product's), else the parent's.
    if (variant && variant.picture) {
      media.innerHTML = variant.picture;
      media.setAttribute("data-variant-picture", String(variant.id));
    } else if (media.hasAttribute("data-variant-picture")) {
      media.innerHTML = initial.media;
      media.removeAttribute("data-variant-picture");
    }
  }

  function update(replaceAddress) {
    var options = chosen();
    var complete = Object.keys(options).length === axesCount();
    var variant = complete ? matching(options) : null;
    if (!complete) {
      price.innerHTML = initial.price;
      if (sku) sku.textContent = initial.sku;
      setStock("choose", "Choose a " + data.axes);
      button.disabled = false;
      showPicture(null);
      return;
    }
    if (!variant) {
      price.innerHTML = initial.price;
      if (sku) sku.textContent = initial.sku;
      setStock("out", "Not available in " + Object.values(options).join(" / "));
      button.disabled = true;
      showPicture(null);
      return;
    }
    price.textContent = variant.price;
    if (sku) sku.textContent = variant.sku;
    if (variant.available <= 0) {
      setStock("out", "Out of stock");
    } else if (variant.available <= data.low) {
      setStock("low", "Only " + variant.available + " left");
    } else {
      setStock("in", "In stock");
    }
    button.disabled = variant.available <= 0;
    if (quantity) {
      quantity.max = String(Math.max(variant.available, 1));
    }
    showPicture(variant);
    if (replaceAddress && window.history && window.history.replaceState) {
      var url = new URL(window.location.href);
      url.searchParams.set("variant", String(variant.id));
      window.history.replaceState(null, "", url.toString());
      var next = form.querySelector("input[name=next]");
      if (next) next.value = url.pathname + url.search;
    }
  }

  form.addEventListener("change", function (event) {
    if (event.target.matches("input[type=radio][data-option]")) {
      update(true);
    }
  });
  update(false);
})();
