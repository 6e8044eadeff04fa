// Package memcache keeps sessions in memcached, through the
// github.com/bradfitz/gomemcache client the application already configured,
// over one server or several. A [Store] implements sessionstore.Store and the
// optional Toucher, Swapper and io.Closer.
package memcache
