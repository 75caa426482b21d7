// civic crew view, offline: a service worker for /crew, so that a crew
// member can open their route where the phone has no connection (reports
// made there already wait in the page's queue, see crew.js).
//
// The route page is fetched from the network whenever it answers, and the
// copy kept; without a network the kept copy is shown, marked
// data-copy="kept" (the page then says when it was loaded). The page's
// scripts and styles are kept as the page uses them (their URLs carry a
// content hash, so a kept copy is never stale). The page asks for its own
// URL and assets to be kept ("keep"), since its first load came before the
// worker ran. Signing in or out deletes the copy (app.js on the login
// page). Nothing else is touched: other pages, the API and posts go to the
// network as without a worker.
"use strict";

var CACHE = "civic-crew-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (ev) { ev.waitUntil(self.clients.claim()); });

function isRoute(url) { return url.origin === self.location.origin && url.pathname === "/crew"; }
function isAsset(url) { return url.origin === self.location.origin && url.pathname.indexOf("/static/") === 0; }

function keep(cache, req, resp) {
  if (resp && resp.ok && !resp.redirected && resp.type === "basic") {
    return cache.put(req, resp.clone()).then(function () { return resp; }, function () { return resp; });
  }
  return Promise.resolve(resp);
}

// kept marks a kept copy of the route page as one (the page then says when
// it was loaded).
function kept(resp) {
  return resp.text().then(function (html) {
    // The page's own headers that matter, not its transfer ones (length,
    // encoding: the body is a new one).
    var headers = new Headers();
    ["Content-Type", "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"].forEach(function (h) {
      var v = resp.headers.get(h);
      if (v) headers.set(h, v);
    });
    return new Response(html.replace('data-copy="live"', 'data-copy="kept"'), { status: 200, headers: headers });
  });
}

self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (isRoute(url)) {
    ev.respondWith(caches.open(CACHE).then(function (cache) {
      return fetch(req).then(function (resp) { return keep(cache, req, resp); }, function () {
        return cache.match(req, { ignoreVary: true }).then(function (hit) { return hit ? kept(hit) : Response.error(); });
      });
    }));
  } else if (isAsset(url)) {
    ev.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(req).then(function (hit) {
        return hit || fetch(req).then(function (resp) { return keep(cache, req, resp); });
      });
    }));
  }
});

// {keep: [urls]}: the page's own URL and assets, fetched now and kept;
// the page hears {kept: n} back.
self.addEventListener("message", function (ev) {
  var urls = ev.data && ev.data.keep;
  if (!Array.isArray(urls)) return;
  var wanted = urls.filter(function (u) {
    try { var url = new URL(u, self.location.href); return isRoute(url) || isAsset(url); } catch (e) { return false; }
  });
  ev.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(wanted.map(function (u) {
      var req = new Request(u, { credentials: "same-origin" });
      return fetch(req).then(function (resp) { return keep(cache, req, resp); }).then(function (resp) {
        return resp && resp.ok ? 1 : 0;
      }, function () { return 0; });
    }));
  }).then(function (done) {
    var n = done.reduce(function (a, b) { return a + b; }, 0);
    if (ev.source) ev.source.postMessage({ kept: n, of: wanted.length });
  }));
});
