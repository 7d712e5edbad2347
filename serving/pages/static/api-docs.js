// The API's documentation (/docs): Swagger UI from this server's own files, started here rather
// than by an inline script, so that the service's CSP (default-src 'self') holds.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // the default sends the document to validator.swagger.io
  });
});
