package domain

// CRCIEEE exposes crcIEEE to the tests.
var CRCIEEE = crcIEEE
