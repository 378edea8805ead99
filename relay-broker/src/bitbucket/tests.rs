//! Unit tests of the client against a scripted transport, and the allow-list agreement.
