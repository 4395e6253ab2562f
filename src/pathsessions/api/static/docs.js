// Starts Swagger UI on /docs. A file rather than an inline script, so that the page's
// Content-Security-Policy allows scripts from this server only. The documents to show come
// from the page (data-urls): each API's part of the OpenAPI description.
"use strict";

window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  var urls = JSON.parse(root.getAttribute("data-urls"));
  window.ui = SwaggerUIBundle({
    urls: urls,
    "urls.primaryName": urls[0].name,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    // Never ask the online validator about the document: the page works offline.
    validatorUrl: null,
    displayOperationId: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    showCommonExtensions: true,
  });
});
