// Package upload is the client side of apkit's repository server: it finds
// packages in a REPODEST-style tree, groups them by repository and
// architecture, and posts each group to the server's /upload endpoint
// with a bearer token, retrying on network errors and server errors.
package upload
