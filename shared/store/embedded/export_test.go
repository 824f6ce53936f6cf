package embedded

// WALDamage exposes walDamage to the external tests.
var WALDamage = walDamage
