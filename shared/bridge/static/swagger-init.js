// The API page: Swagger UI on the document the API serves, try-it-out on.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/swagger-ui/swagger.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
