// Package sign holds apk's signature scheme: RSA keys as abuild-keygen makes
// them, RSASSA-PKCS1-v1_5 signatures over SHA-1 (".SIGN.RSA."), SHA-256
// (".SIGN.RSA256.", apkit's default) or SHA-512 (".SIGN.RSA512.", read),
// keyrings of trusted public keys matched by file name as apk matches them,
// and the signature gzip member that heads every signed package and index.
//
// # Keys
//
// [GenerateKey] makes a key named "<id>-<hex time>.rsa" (the public key file
// adds ".pub"); [MarshalPrivateKey], [MarshalEncryptedPrivateKey] and
// [MarshalPublicKey] give the PEM forms to write; [LoadPrivateKey] reads
// PKCS#1, PKCS#8 and encrypted PKCS#8 private keys. A [PrivateKey]'s Name is
// the public key's file name, which is what its signatures name.
//
// # Streams
//
// A signed stream is one or more signature members followed by the signed
// members. [MemberReader] splits any concatenation of gzip members and
// hashes each member's compressed bytes exactly as stored;
// [SignedReader] reads the signature members and stops at the first
// signed one. Which bytes a signature covers depends on the stream: for an
// index, everything after the signatures ([VerifyStream],
// [ReplaceSignature]); for a package, the control member (package apk).
//
// Nothing here prints, and nothing writes files except through the
// io.Writer given.
package sign
