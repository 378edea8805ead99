//! Unit tests of the client: recorded fixtures decode, the scripted-transport behaviour
//! (retries, paging, limits, errors), and ENDPOINTS against the agent's default allow-list.

mod agreement;
mod fixtures;
mod relay;
mod scripted;
