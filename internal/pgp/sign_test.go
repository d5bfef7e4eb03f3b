package pgp_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/patchday/patchday/internal/pgp"
)

func TestSign(t *testing.T) {
	data := []byte(`{"document":{"title":"PDSA-2026-0001"}}`)
	for _, tt := range []struct {
		file, pass string
		canSign    bool
	}{
		{"gnupg-ed25519.key.asc", passphrase, true},
		{"gnupg-rsa.key.asc", "", true},
		{"gnupg-ed25519-subkeys.key.asc", passphrase, false}, // the primary is offline
	} {
		k, err := pgp.Load(testdata(t, tt.file), []byte(tt.pass))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if k.CanSign() != tt.canSign {
			t.Errorf("%s: CanSign = %v", tt.file, k.CanSign())
		}
		sig, err := k.Sign(data)
		if !tt.canSign {
			if err == nil || !strings.Contains(err.Error(), "cannot sign") {
				t.Errorf("%s: signing without a signing key: %v", tt.file, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(k.PublicArmored()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(data), bytes.NewReader(sig), nil); err != nil {
			t.Errorf("%s: the signature does not verify with the published key: %v", tt.file, err)
		}
		if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(append(data, ' ')), bytes.NewReader(sig), nil); err == nil {
			t.Errorf("%s: the signature verifies altered data", tt.file)
		}
	}
}
