package web

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

var zeroTime time.Time

func TestCacheKeysIgnoreJunkAndTheCacheStaysBounded(t *testing.T) {
	a := keyOf(httptest.NewRequest("GET", "/disponibilites/consultation/dialyse?type=udm&departement=77&x=1", nil), detailParams)
	b := keyOf(httptest.NewRequest("GET", "/disponibilites/consultation/dialyse?departement=77&type=udm&y=2&y=3", nil), detailParams)
	if a != b {
		t.Fatalf("junk parameters or their order change the key: %q, %q", a, b)
	}
	if c := keyOf(httptest.NewRequest("GET", "/disponibilites/consultation/dialyse?departement=78&type=udm", nil), detailParams); c == a {
		t.Fatal("another department has the same key")
	}
	var c pageCache
	for i := range 3 * maxCachedPages {
		c.put("/recherche?q="+strconv.Itoa(i), cachedMain{pos: uint64(i / 100)}, uint64(i/100))
		if len(c.m) > maxCachedPages {
			t.Fatalf("%d entries after %d puts", len(c.m), i+1)
		}
	}
	if _, ok := c.get("/recherche?q="+strconv.Itoa(3*maxCachedPages-1), uint64((3*maxCachedPages-1)/100), zeroTime); !ok {
		t.Fatal("the last page put is not kept")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{"": false, "gzip": true, "br, gzip": true, "gzip;q=0.5": true, "gzip; q=0": false,
		"gzip;q=0.0": false, "gzip;q=0.000": false, "deflate": false, "GZIP": true} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", h)
		if got := acceptsGzip(r); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", h, got, want)
		}
	}
}
