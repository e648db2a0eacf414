// Package web is the web application of DESIGN.md section 11: pages rendered on the server for
// clinic staff, reviewers, finance and administrators, in bs, hr, sr-Latn, sr-Cyrl and en, with
// embedded assets and a little hand-written JavaScript (the offline capture queue, keyboard
// review, the live quote).
//
// It owns people's sign-in (the login page, the session cookie, CSRF tokens, the language
// switch) and one handler per page, grouped by role in files named for the role
// (clinic_*.go, review_*.go, finance_*.go, admin_*.go), each listing its routes. Pages call the
// same services as the JSON API with the signed-in user's principal in the context, so a page
// can never show what the API would refuse. It never imports api, sqlx, lib/pq or internal/pg.
package web
