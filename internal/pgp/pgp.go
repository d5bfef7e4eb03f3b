// Package pgp holds the vendor's OpenPGP key: researchers encrypt reports
// to its public half, which patchday publishes, and patchday decrypts them
// with the private half. It wraps ProtonMail's go-crypto (its v1 openpgp
// API), which reads keys as GnuPG makes them: ed25519 with a cv25519
// encryption subkey, and RSA.
package pgp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// MaxPlaintext bounds what Decrypt returns: a compressed message of a few
// kilobytes may inflate to gigabytes, and all of it would be held in memory.
const MaxPlaintext = 64 << 20

// Errors Load and Decrypt return, wrapped with details.
var (
	ErrNotPrivateKey   = errors.New("not a private key")
	ErrPassphrase      = errors.New("wrong passphrase for the private key")
	ErrNoEncryptionKey = errors.New("no encryption subkey")
	ErrNotForKey       = errors.New("not encrypted to this key")
	ErrNotEncrypted    = errors.New("not an encrypted OpenPGP message")
	ErrTooLarge        = errors.New("the decrypted message is too large")
)

// Key is a loaded private key, its private material decrypted and ready.
// It is safe for concurrent use.
type Key struct {
	entity      *openpgp.Entity
	public      []byte
	fingerprint string
	max         int64
}

// Load reads an armored secret key ("-----BEGIN PGP PRIVATE KEY
// BLOCK-----", as gpg --armor --export-secret-keys writes it) and unlocks
// its decryption keys with passphrase, which may be empty when the key is
// not protected. A key whose primary part is only a stub (exported with
// --export-secret-subkeys, the primary kept offline) will do, as long as
// the encryption subkey is there.
func Load(armoredPrivateKey []byte, passphrase []byte) (*Key, error) {
	block, err := armor.Decode(bytes.NewReader(armoredPrivateKey))
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: no armored key found (it starts with -----BEGIN PGP PRIVATE KEY BLOCK-----)", ErrNotPrivateKey)
	}
	if err != nil {
		return nil, fmt.Errorf("read armored key: %w", err)
	}
	switch block.Type {
	case openpgp.PrivateKeyType:
	case openpgp.PublicKeyType:
		return nil, fmt.Errorf("%w: this is a public key block; export the secret key (gpg --armor --export-secret-keys KEYID)", ErrNotPrivateKey)
	default:
		return nil, fmt.Errorf("%w: found a %q block, want %q", ErrNotPrivateKey, block.Type, openpgp.PrivateKeyType)
	}
	keys, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(keys) != 1 {
		return nil, fmt.Errorf("the file holds %d keys; give exactly one", len(keys))
	}
	e := keys[0]
	if !hasPrivate(e) {
		return nil, fmt.Errorf("%w: the key block holds no secret key material", ErrNotPrivateKey)
	}
	fpr := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
	enc, ok := e.EncryptionKey(time.Now())
	if !ok {
		return nil, fmt.Errorf("%w: key %s has none that is valid now (a signing-only key, or an expired or revoked one); add one with gpg --quick-add-key %s cv25519 encr",
			ErrNoEncryptionKey, fpr, fpr)
	}
	if enc.PrivateKey == nil || enc.PrivateKey.Dummy() {
		return nil, fmt.Errorf("%w: the secret part of encryption subkey %X is not in the file (is it on a smartcard?)", ErrNoEncryptionKey, enc.PublicKey.Fingerprint)
	}
	if err := unlock(e, passphrase); err != nil {
		return nil, err
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, fmt.Errorf("armor public key: %w", err)
	}
	if err := e.Serialize(w); err != nil {
		return nil, fmt.Errorf("write public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("armor public key: %w", err)
	}
	pub.WriteByte('\n')
	return &Key{entity: e, public: pub.Bytes(), fingerprint: fpr, max: MaxPlaintext}, nil
}

// hasPrivate reports whether e holds any secret key, even a stub.
func hasPrivate(e *openpgp.Entity) bool {
	if e.PrivateKey != nil {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil {
			return true
		}
	}
	return false
}

// unlock decrypts the secret keys that can decrypt messages, and the one
// that signs (CSAF documents are signed), when the key holds it.
func unlock(e *openpgp.Entity, passphrase []byte) error {
	var locked []*packet.PrivateKey
	add := func(pk *packet.PrivateKey) {
		if pk != nil && !pk.Dummy() && pk.Encrypted {
			locked = append(locked, pk)
		}
	}
	for _, k := range (openpgp.EntityList{e}).DecryptionKeys() {
		add(k.PrivateKey)
	}
	if sig, _ := e.PrimarySelfSignature(); sig != nil && sig.FlagsValid && (sig.FlagEncryptCommunications || sig.FlagEncryptStorage) {
		add(e.PrivateKey)
	}
	if k, ok := e.SigningKey(time.Now()); ok {
		add(k.PrivateKey)
	}
	if len(locked) == 0 {
		return nil
	}
	if len(passphrase) == 0 {
		return fmt.Errorf("%w: the key is protected and no passphrase was given", ErrPassphrase)
	}
	if err := packet.DecryptPrivateKeys(locked, passphrase); err != nil {
		return fmt.Errorf("%w (%v)", ErrPassphrase, err)
	}
	return nil
}

// PublicArmored returns the public key, armored, for publishing.
func (k *Key) PublicArmored() []byte { return bytes.Clone(k.public) }

// Fingerprint returns the primary key's fingerprint in upper-case hex.
func (k *Key) Fingerprint() string { return k.fingerprint }

// Decrypt decrypts an OpenPGP message, binary or ASCII-armored, encrypted
// to this key, and returns its literal content. Signatures in it are not
// checked: patchday does not hold the senders' keys. It refuses a
// message whose content exceeds MaxPlaintext, and one that is not
// encrypted at all.
func (k *Key) Decrypt(ciphertext io.Reader) (plain []byte, err error) {
	if k == nil {
		return nil, errors.New("decrypt: no key")
	}
	// The input is the sender's to choose, and a panic deep in a parser
	// would take the whole server down with it.
	defer func() {
		if p := recover(); p != nil {
			plain, err = nil, fmt.Errorf("read message: malformed (the OpenPGP library failed: %v)", p)
		}
	}()
	r := bufio.NewReader(ciphertext)
	if armored(r) {
		block, err := armor.Decode(r)
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: no -----BEGIN PGP MESSAGE----- found", ErrNotEncrypted)
		}
		if err != nil {
			return nil, fmt.Errorf("read armor: %w", err)
		}
		if block.Type != "PGP MESSAGE" {
			return nil, fmt.Errorf("%w: found a %q block", ErrNotEncrypted, block.Type)
		}
		ciphertext = block.Body
	} else {
		ciphertext = r
	}
	ring := &recorder{EntityList: openpgp.EntityList{k.entity}}
	// go-crypto fails a decompressed stream once it reaches its limit, not
	// when it passes it, and reports that as a generic parsing error; one
	// byte more lets the check below name the problem.
	limit := k.max + 1
	cfg := &packet.Config{MaxDecompressedMessageSize: &limit}
	md, err := openpgp.ReadMessage(ciphertext, ring, nil, cfg)
	switch {
	case errors.Is(err, pgperrors.ErrKeyIncorrect):
		return nil, ring.notForKey(k.fingerprint)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("read message: it is truncated, or not OpenPGP (%w)", err)
	case err != nil:
		return nil, fmt.Errorf("read message: %w", err)
	case !md.IsEncrypted:
		return nil, ErrNotEncrypted
	}
	// Reading to the end is what checks the message's integrity (MDC or
	// AEAD tag): nothing is returned before that.
	plain, err = io.ReadAll(io.LimitReader(md.UnverifiedBody, k.max+1))
	switch {
	case int64(len(plain)) > k.max || errors.Is(err, pgperrors.ErrMessageTooLarge):
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, k.max)
	case err != nil:
		return nil, fmt.Errorf("decrypt message: %w", err)
	}
	return plain, nil
}

// armored reports whether r holds armor rather than binary packets, whose
// first byte always has its high bit set. Armor may follow other text,
// which armor.Decode skips.
func armored(r *bufio.Reader) bool {
	b, err := r.Peek(1)
	return err == nil && b[0]&0x80 == 0
}

// recorder remembers which keys a message says it is encrypted to, so a
// message for another key can say which.
type recorder struct {
	openpgp.EntityList
	ids []uint64
}

func (r *recorder) KeysById(id uint64) []openpgp.Key {
	r.ids = append(r.ids, id)
	return r.EntityList.KeysById(id)
}

func (r *recorder) DecryptionKeys() []openpgp.Key {
	r.ids = append(r.ids, 0) // a hidden recipient (gpg --throw-keyids)
	return r.EntityList.DecryptionKeys()
}

func (r *recorder) notForKey(fingerprint string) error {
	if len(r.ids) == 0 {
		return fmt.Errorf("%w (%s): the message is encrypted with a passphrase, or to no key at all", ErrNotForKey, fingerprint)
	}
	ids := make([]string, len(r.ids))
	for i, id := range r.ids {
		switch {
		case id == 0:
			ids[i] = "(hidden recipient)"
		case len(r.EntityList.KeysById(id)) > 0:
			// Ours, yet its session key would not decrypt.
			return fmt.Errorf("the message is encrypted to this key (subkey ID %016X) but its session key does not decrypt: it is corrupt", id)
		default:
			ids[i] = fmt.Sprintf("%016X", id)
		}
	}
	return fmt.Errorf("%w (%s): it is encrypted to key ID %s", ErrNotForKey, fingerprint, strings.Join(ids, ", "))
}

// CanSign reports whether the key holds a usable signing key (a key
// exported without its primary, kept offline, cannot sign).
func (k *Key) CanSign() bool {
	sk, ok := k.entity.SigningKey(time.Now())
	return ok && sk.PrivateKey != nil && !sk.PrivateKey.Dummy() && !sk.PrivateKey.Encrypted
}

// Sign returns an armored detached OpenPGP signature of data.
func (k *Key) Sign(data []byte) ([]byte, error) {
	if !k.CanSign() {
		return nil, fmt.Errorf("the key %s cannot sign: its signing key is not in the file (exported with --export-secret-subkeys?)", k.fingerprint)
	}
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, k.entity, bytes.NewReader(data), nil); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return b.Bytes(), nil
}
