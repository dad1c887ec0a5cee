// CloudFront Function (cloudfront-js-2.0), viewer request, on the behaviours of the web app's
// app routes only (infra/routing.py, Route.spa_fallback: /p/*). An app route (a path whose last
// segment has no dot, such as /p/abc123) is served index.html, so the app's router can render
// it; a path that names a file is left alone, so a missing file is a 404 rather than an HTML
// page. infra/routing.py spa_object_key() is the same rule for the local dev router; tests/edge
// run both over one table of paths.
function handler(event) {
  var request = event.request;
  var lastSegment = request.uri.substring(request.uri.lastIndexOf("/") + 1);
  if (lastSegment.indexOf(".") === -1) {
    request.uri = "/index.html";
  }
  return request;
}
