//! POSIX IPC: named shared memory objects and message queues, and the names both use.
//!
//! | module | C |
//! |---|---|
//! | [`name`] | the rules for a name (`/name`, at most `NAME_MAX` bytes), a name nobody holds |
//! | [`shm`] | `shm_open`, `ftruncate`, `fstat`, `mmap`, `munmap`, `shm_unlink` |
//! | [`mq`] | `mq_open`, `mq_send`, `mq_receive`, `mq_unlink` |

pub mod mq;
pub mod name;
pub mod shm;
