package httpauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"time"
)

// DeviceCookieName is the cookie that marks a browser where a user once
// logged in: part of the API, do not change.
const DeviceCookieName = "dispo_device"

const (
	deviceNonceLen = 16
	deviceMACLen   = 16
	devicePayload  = deviceNonceLen + 8 // nonce, expiry in Unix seconds
)

// deviceCookieLen is the length of a device cookie's value.
var deviceCookieLen = base64.RawURLEncoding.EncodedLen(devicePayload + deviceMACLen)

// deviceMAC binds a device cookie's payload to the identifier it was issued
// for: a cookie earned by logging into one's own account says nothing
// about another's.
func (a *Auth) deviceMAC(id string, payload []byte) []byte {
	m := hmac.New(sha256.New, a.deviceKey)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:deviceMACLen]
}

// newDeviceCookie returns a device cookie value for id, valid until expires.
func (a *Auth) newDeviceCookie(id string, expires time.Time) string {
	b := make([]byte, devicePayload, devicePayload+deviceMACLen)
	rand.Read(b[:deviceNonceLen]) // never fails (crypto/rand, Go 1.24+)
	binary.BigEndian.PutUint64(b[deviceNonceLen:], uint64(expires.Unix()))
	b = append(b, a.deviceMAC(id, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// device returns the id of the request's device cookie if it is valid for
// identifier id and has not expired, else "".
func (a *Auth) device(r *http.Request, id string, now time.Time) string {
	if id == "" {
		return ""
	}
	c, err := r.Cookie(DeviceCookieName)
	if err != nil || len(c.Value) != deviceCookieLen {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) != devicePayload+deviceMACLen {
		return ""
	}
	payload, mac := b[:devicePayload], b[devicePayload:]
	if !hmac.Equal(mac, a.deviceMAC(id, payload)) {
		return ""
	}
	if exp := int64(binary.BigEndian.Uint64(payload[deviceNonceLen:])); now.Unix() >= exp {
		return ""
	}
	return hex.EncodeToString(payload[:deviceNonceLen])
}

// setDeviceCookie marks the browser as one where id logged in. The cookie
// goes only to the login door it was set by (the API's or the form's): it
// authenticates nothing by itself.
func (a *Auth) setDeviceCookie(w http.ResponseWriter, r *http.Request, id string, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: DeviceCookieName, Value: a.newDeviceCookie(id, now.Add(a.cfg.DeviceTTL)),
		Path: r.URL.Path, MaxAge: int(a.cfg.DeviceTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secure(r),
	})
}
