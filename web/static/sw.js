// trcledger service worker: keeps the application shell (styles, scripts, icon) and, for the
// clinic's capture page, the page itself and the reference data it needs to capture offline
// (contracts, sites, services and their tariffs, ICD-10 codes). Pages are fetched from the
// network first and their last good copy is answered when there is no connection; assets are
// answered from the cache and refreshed behind it. Nothing else is cached, and a POST is
// never answered from here: captured encounters wait in the page's IndexedDB queue.
'use strict';
var VERSION = 'trcledger-v1';
var SHELL = 'shell-' + VERSION;
var DATA = 'capture-' + VERSION;
var ASSETS = ['/static/app.css', '/static/app.js', '/static/icon.svg', '/static/capture.css', '/static/capture.js'];
var PAGES = ['/clinic/capture', '/clinic/capture/reference'];

self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(ASSETS); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== SHELL && k !== DATA; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (e) {
  var req = e.request;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  if (req.method === 'POST' && url.pathname === '/logout') {
    // Signing out forgets the pages kept for this user (the queue stays with its owner).
    e.waitUntil(caches.delete(DATA));
    return;
  }
  if (req.method !== 'GET') { return; }
  if (url.pathname.indexOf('/static/') === 0) {
    e.respondWith(caches.open(SHELL).then(function (c) {
      return c.match(req, { ignoreSearch: true }).then(function (hit) {
        var fresh = fetch(req).then(function (r) {
          if (r.ok) { c.put(req, r.clone()); }
          return r;
        });
        if (hit) {
          e.waitUntil(fresh.catch(function () {}));
          return hit;
        }
        return fresh;
      });
    }));
    return;
  }
  if (PAGES.indexOf(url.pathname) >= 0) {
    e.respondWith(fetch(req).then(function (r) {
      var own = new URL(r.url).pathname === url.pathname;
      if (r.ok && !r.redirected && own) {
        var copy = r.clone();
        e.waitUntil(caches.open(DATA).then(function (c) { return c.put(url.pathname, copy); }));
      }
      return r;
    }).catch(function () {
      return caches.open(DATA).then(function (c) { return c.match(url.pathname); }).then(function (hit) {
        return hit || Response.error();
      });
    }));
  }
});
