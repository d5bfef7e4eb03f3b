package pgp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/patchday/patchday/internal/pgp"
)

const passphrase = "correct horse battery staple" // also of testdata/gnupg-ed25519.key.asc

// generated is a key made in the test, armored with and without a
// passphrase, and its entity to encrypt to.
type generated struct {
	plain, protected []byte
	entity           *openpgp.Entity
}

// keys holds the keys generated, by name: func() (generated, error).
var keys sync.Map

// configs are the kinds of key GnuPG makes: ed25519 with a cv25519
// subkey (its default), and RSA.
var configs = map[string]*packet.Config{
	"ed25519": {Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, DefaultCompressionAlgo: packet.CompressionZLIB},
	"rsa":     {Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, DefaultCompressionAlgo: packet.CompressionZLIB},
}

// generate makes a key of the named kind, once per test binary.
func generate(t testing.TB, name string) generated {
	t.Helper()
	f, _ := keys.LoadOrStore(name, sync.OnceValues(func() (generated, error) {
		cfg := configs[strings.TrimSuffix(name, "-other")] // another key of the same kind
		e, err := openpgp.NewEntity("Example PSIRT", "test", "security@example.com", cfg)
		if err != nil {
			return generated{}, err
		}
		plain, err := armorPrivate(e)
		if err != nil {
			return generated{}, err
		}
		if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			return generated{}, err
		}
		protected, err := armorPrivate(e)
		return generated{plain, protected, e}, err
	}))
	g, err := f.(func() (generated, error))()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func armorPrivate(e *openpgp.Entity) ([]byte, error) {
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return nil, err
	}
	err = w.Close()
	return b.Bytes(), err
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func load(t testing.TB, armored []byte, pass string) *pgp.Key {
	t.Helper()
	k, err := pgp.Load(armored, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// encrypt encrypts plaintext to e, armored or not, compressed as e prefers.
func encrypt(t testing.TB, e *openpgp.Entity, plaintext []byte, armored bool) []byte {
	t.Helper()
	var b bytes.Buffer
	var out io.Writer = &b
	var aw io.WriteCloser
	if armored {
		var err error
		if aw, err = armor.Encode(&b, "PGP MESSAGE", nil); err != nil {
			t.Fatal(err)
		}
		out = aw
	}
	w, err := openpgp.Encrypt(out, []*openpgp.Entity{e}, nil, nil, &packet.Config{DefaultCompressionAlgo: packet.CompressionZLIB})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if aw != nil {
		if err := aw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

var hexFingerprint = regexp.MustCompile(`^[0-9A-F]{40}$`)

func TestLoad(t *testing.T) {
	ed, rsa := generate(t, "ed25519"), generate(t, "rsa")
	public := load(t, ed.plain, "").PublicArmored()
	for _, tc := range []struct {
		name       string
		key        []byte
		passphrase string
		err        error  // nil: loads
		msg        string // in the error
		fpr        string // when it loads, if known
	}{
		{name: "ed25519, unprotected", key: ed.plain, fpr: fmt.Sprintf("%X", ed.entity.PrimaryKey.Fingerprint)},
		{name: "ed25519, unprotected, passphrase given anyway", key: ed.plain, passphrase: "unused"},
		{name: "ed25519, protected", key: ed.protected, passphrase: passphrase, fpr: fmt.Sprintf("%X", ed.entity.PrimaryKey.Fingerprint)},
		{name: "ed25519, wrong passphrase", key: ed.protected, passphrase: "incorrect horse", err: pgp.ErrPassphrase},
		{name: "ed25519, no passphrase", key: ed.protected, err: pgp.ErrPassphrase, msg: "no passphrase was given"},
		{name: "RSA, unprotected", key: rsa.plain, fpr: fmt.Sprintf("%X", rsa.entity.PrimaryKey.Fingerprint)},
		{name: "RSA, protected", key: rsa.protected, passphrase: passphrase},
		{name: "RSA, wrong passphrase", key: rsa.protected, passphrase: "x", err: pgp.ErrPassphrase},
		{name: "GnuPG ed25519/cv25519", key: testdata(t, "gnupg-ed25519.key.asc"), passphrase: passphrase,
			fpr: "8495B3F8B7C6888FD89698A96B3A9A774DE3A122"},
		{name: "GnuPG, wrong passphrase", key: testdata(t, "gnupg-ed25519.key.asc"), passphrase: "x", err: pgp.ErrPassphrase},
		{name: "GnuPG subkeys only, primary offline", key: testdata(t, "gnupg-ed25519-subkeys.key.asc"), passphrase: passphrase,
			fpr: "8495B3F8B7C6888FD89698A96B3A9A774DE3A122"},
		{name: "GnuPG RSA", key: testdata(t, "gnupg-rsa.key.asc"), fpr: "65A53AA64104E6640AF56703648E2575D6D05316"},
		{name: "GnuPG RSA without encryption subkey", key: testdata(t, "gnupg-rsa-signonly.key.asc"), err: pgp.ErrNoEncryptionKey},
		{name: "public key", key: public, err: pgp.ErrNotPrivateKey, msg: "export-secret-keys"},
		{name: "a message, not a key", key: testdata(t, "gnupg-ed25519.msg.asc"), err: pgp.ErrNotPrivateKey, msg: "PGP MESSAGE"},
		{name: "garbage", key: []byte("not a key at all\n"), err: pgp.ErrNotPrivateKey},
		{name: "empty", key: nil, err: pgp.ErrNotPrivateKey},
		{name: "truncated", key: ed.plain[:len(ed.plain)/2], err: errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := pgp.Load(tc.key, []byte(tc.passphrase))
			switch {
			case tc.err == nil && err != nil:
				t.Fatalf("Load: %v", err)
			case tc.err == nil:
				if !hexFingerprint.MatchString(k.Fingerprint()) || tc.fpr != "" && k.Fingerprint() != tc.fpr {
					t.Errorf("fingerprint %q, want %q", k.Fingerprint(), tc.fpr)
				}
			case err == nil:
				t.Fatalf("Load succeeded, want %v", tc.err)
			case tc.err != errAny && !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg):
				t.Errorf("Load: %v, want %v saying %q", err, tc.err, tc.msg)
			}
		})
	}
}

// errAny stands for any error in a table.
var errAny = errors.New("any error")

// The published key is the public half alone, and what is encrypted to
// it decrypts.
func TestPublicArmored(t *testing.T) {
	for _, file := range []string{"gnupg-ed25519.key.asc", "gnupg-ed25519-subkeys.key.asc", "gnupg-rsa.key.asc"} {
		t.Run(file, func(t *testing.T) {
			k := load(t, testdata(t, file), passphrase)
			pub := k.PublicArmored()
			if !bytes.HasPrefix(pub, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")) {
				t.Fatalf("public key:\n%s", pub)
			}
			if bytes.Contains(pub, []byte("PRIVATE")) {
				t.Errorf("public key mentions PRIVATE:\n%s", pub)
			}
			ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
			if err != nil || len(ring) != 1 {
				t.Fatalf("reading the published key: %d keys, %v", len(ring), err)
			}
			e := ring[0]
			if e.PrivateKey != nil {
				t.Error("the published key holds the primary secret key")
			}
			for _, s := range e.Subkeys {
				if s.PrivateKey != nil {
					t.Error("the published key holds a secret subkey")
				}
			}
			if got := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint); got != k.Fingerprint() {
				t.Errorf("published fingerprint %s, want %s", got, k.Fingerprint())
			}
			msg := []byte("encrypted to the published key")
			plain, err := k.Decrypt(bytes.NewReader(encrypt(t, e, msg, true)))
			if err != nil || !bytes.Equal(plain, msg) {
				t.Errorf("Decrypt: %q, %v; want %q", plain, err, msg)
			}
			pub[0] = 'x'
			if k.PublicArmored()[0] != '-' {
				t.Error("PublicArmored returns its own buffer")
			}
		})
	}
}

func TestDecrypt(t *testing.T) {
	ed, rsa := generate(t, "ed25519"), generate(t, "rsa")
	other := generate(t, "ed25519-other")
	keys := map[string]*pgp.Key{
		"ed25519":           load(t, ed.plain, ""),
		"ed25519 protected": load(t, ed.protected, passphrase),
		"rsa":               load(t, rsa.plain, ""),
		"rsa protected":     load(t, rsa.protected, passphrase),
		"gnupg ed25519":     load(t, testdata(t, "gnupg-ed25519.key.asc"), passphrase),
		"gnupg subkeys":     load(t, testdata(t, "gnupg-ed25519-subkeys.key.asc"), passphrase),
		"gnupg rsa":         load(t, testdata(t, "gnupg-rsa.key.asc"), ""),
	}
	report := []byte("Heap overflow in the parser.\r\nGrüße, \x00binary\xff too.\n")
	gnupg := []byte("Heap overflow in the parser, found with GnuPG.\nGrüße.\n")
	signedOnly := func() []byte {
		signer, err := openpgp.NewEntity("Ada", "", "ada@example.org", configs["ed25519"])
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		w, err := openpgp.Sign(&b, signer, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(report)
		w.Close()
		return b.Bytes()
	}
	symmetric := func() []byte {
		var b bytes.Buffer
		w, err := openpgp.SymmetricallyEncrypt(&b, []byte("a shared secret"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(report)
		w.Close()
		return b.Bytes()
	}
	tampered := func() []byte {
		b := encrypt(t, ed.entity, report, false)
		b[len(b)-10] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name       string
		key        string
		ciphertext []byte
		want       []byte // nil: an error
		err        error  // the error, if not just any
		msg        string // in the error
	}{
		{name: "ed25519, binary", key: "ed25519", ciphertext: encrypt(t, ed.entity, report, false), want: report},
		{name: "ed25519, armored", key: "ed25519", ciphertext: encrypt(t, ed.entity, report, true), want: report},
		{name: "ed25519 protected", key: "ed25519 protected", ciphertext: encrypt(t, ed.entity, report, true), want: report},
		{name: "RSA, binary", key: "rsa", ciphertext: encrypt(t, rsa.entity, report, false), want: report},
		{name: "RSA protected, armored", key: "rsa protected", ciphertext: encrypt(t, rsa.entity, report, true), want: report},
		{name: "empty message", key: "ed25519", ciphertext: encrypt(t, ed.entity, nil, true), want: []byte{}},
		{name: "armored after other text", key: "ed25519",
			ciphertext: append([]byte("Here is my report:\r\n\r\n"), encrypt(t, ed.entity, report, true)...), want: report},
		{name: "GnuPG ed25519", key: "gnupg ed25519", ciphertext: testdata(t, "gnupg-ed25519.msg.asc"), want: gnupg},
		{name: "GnuPG ed25519, subkeys-only key", key: "gnupg subkeys", ciphertext: testdata(t, "gnupg-ed25519.msg.asc"), want: gnupg},
		{name: "GnuPG RSA", key: "gnupg rsa", ciphertext: testdata(t, "gnupg-rsa.msg.asc"), want: gnupg},
		{name: "wrong key", key: "ed25519", ciphertext: encrypt(t, other.entity, report, true), err: pgp.ErrNotForKey,
			msg: fmt.Sprintf("%016X", other.entity.Subkeys[0].PublicKey.KeyId)},
		{name: "GnuPG message, wrong key", key: "rsa", ciphertext: testdata(t, "gnupg-ed25519.msg.asc"), err: pgp.ErrNotForKey, msg: "72BF4A12E052CD74"},
		{name: "encrypted with a passphrase", key: "ed25519", ciphertext: symmetric(), err: pgp.ErrNotForKey, msg: "passphrase"},
		{name: "signed, not encrypted", key: "ed25519", ciphertext: signedOnly(), err: pgp.ErrNotEncrypted},
		{name: "a public key, not a message", key: "ed25519", ciphertext: keys["rsa"].PublicArmored(), err: pgp.ErrNotEncrypted},
		{name: "tampered", key: "ed25519", ciphertext: tampered(), err: errAny},
		{name: "truncated", key: "ed25519", ciphertext: encrypt(t, ed.entity, report, false)[:60], err: errAny},
		{name: "garbage", key: "ed25519", ciphertext: []byte("\x85\x01\x02garbage"), err: errAny},
		{name: "text without armor", key: "ed25519", ciphertext: []byte("just some text\n"), err: errAny},
		{name: "empty", key: "ed25519", ciphertext: nil, err: errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keys[tc.key].Decrypt(bytes.NewReader(tc.ciphertext))
			if tc.want != nil {
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Errorf("Decrypt: %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decrypt: %q, want an error", got)
			}
			if tc.err != errAny && !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Decrypt: %v; want %v saying %q", err, tc.err, tc.msg)
			}
		})
	}
}

// A message that inflates beyond the limit is refused, whether it is
// compressed (a decompression bomb) or not.
func TestDecryptLimit(t *testing.T) {
	ed := generate(t, "ed25519")
	k := load(t, ed.plain, "")
	small := pgp.WithMax(k, 1000)
	for _, tc := range []struct {
		name    string
		key     *pgp.Key
		size    int
		tooMany bool
	}{
		{"exactly the limit", small, 1000, false},
		{"one byte more", small, 1001, true},
		{"far more", small, 1 << 20, true},
		{"one byte more than MaxPlaintext", k, pgp.MaxPlaintext + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.size > 1<<20 && testing.Short() {
				t.Skip("compresses 64 MiB")
			}
			ciphertext := encrypt(t, ed.entity, make([]byte, tc.size), false)
			if len(ciphertext) > tc.size/100+1000 {
				t.Fatalf("%d bytes of ciphertext for %d zeros: not compressed", len(ciphertext), tc.size)
			}
			got, err := tc.key.Decrypt(bytes.NewReader(ciphertext))
			switch {
			case tc.tooMany && !errors.Is(err, pgp.ErrTooLarge):
				t.Errorf("Decrypt: %d bytes, %v; want ErrTooLarge", len(got), err)
			case !tc.tooMany && (err != nil || len(got) != tc.size):
				t.Errorf("Decrypt: %d bytes, %v; want %d", len(got), err, tc.size)
			}
		})
	}
	// Uncompressed, too.
	var b bytes.Buffer
	w, err := openpgp.Encrypt(&b, []*openpgp.Entity{ed.entity}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 1001))
	w.Close()
	if _, err := small.Decrypt(&b); !errors.Is(err, pgp.ErrTooLarge) {
		t.Errorf("1001 bytes uncompressed: %v, want ErrTooLarge", err)
	}
}

// One key decrypts many messages at once (the SMTP server files several).
func TestDecryptConcurrent(t *testing.T) {
	ed := generate(t, "ed25519")
	k := load(t, ed.protected, passphrase)
	var wg sync.WaitGroup
	for i := range 8 {
		msg := []byte(fmt.Sprintf("report %d", i))
		ciphertext := encrypt(t, ed.entity, msg, i%2 == 0)
		wg.Go(func() {
			if got, err := k.Decrypt(bytes.NewReader(ciphertext)); err != nil || !bytes.Equal(got, msg) {
				t.Errorf("Decrypt: %q, %v; want %q", got, err, msg)
			}
		})
	}
	wg.Wait()
}

func FuzzDecrypt(f *testing.F) {
	k := load(f, testdata(f, "gnupg-ed25519.key.asc"), passphrase)
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(k.PublicArmored()))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(testdata(f, "gnupg-ed25519.msg.asc"))
	f.Add(testdata(f, "gnupg-rsa.msg.asc"))
	f.Add(encrypt(f, ring[0], []byte("a report"), false))
	f.Add(encrypt(f, ring[0], make([]byte, 4096), false))
	f.Add(encrypt(f, ring[0], []byte("a report"), true))
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\nwcBMA\n=abcd\n-----END PGP MESSAGE-----\n"))
	f.Add([]byte{0x85, 0x01, 0x02})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ciphertext []byte) {
		plain, err := k.Decrypt(bytes.NewReader(ciphertext))
		if err == nil && len(plain) > pgp.MaxPlaintext {
			t.Errorf("%d bytes of plaintext, more than MaxPlaintext", len(plain))
		}
	})
}
