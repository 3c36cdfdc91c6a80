/* flag.c: the protocol of lesson 06 as the source documents write it, in C, with
 * their plain int flag. Lesson 06 (Part 4) writes this file into a private directory,
 * compiles it with your cc -O2, runs it with a key, and stops it.
 *
 * A producer writes a message and sets flag to 1; a consumer waits for the 1, prints the
 * message and sets flag back to 0; five messages, then END. Nothing tells the compiler that
 * another process changes flag, so it may load flag once and compare that copy for ever:
 * at -O2 the wait loop never sees the other side's store, and both processes hang.
 * Like the documents' program, nothing removes the segment unless the program ends well. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

struct mailbox {
    int flag; /* 0: empty, 1: a message waits. A plain int: the bug. */
    char message[100];
};

/* Out of line, so that objdump shows this loop on its own. */
__attribute__((noinline)) void wait_while(struct mailbox *box, int value) {
    while (box->flag == value)
        ; /* nothing in the loop writes memory: the compiler may load box->flag once */
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s KEY\n", argv[0]);
        return 2;
    }
    key_t key = (key_t) strtoul(argv[1], NULL, 0);
    /* IPC_CREAT without IPC_EXCL, as in the documents: creates the segment, or opens the one
     * that already has this key (lesson 06 makes it just before it starts this program). */
    int id = shmget(key, sizeof(struct mailbox), IPC_CREAT | 0600);
    if (id == -1) {
        perror("shmget");
        return 1;
    }
    struct mailbox *box = shmat(id, NULL, 0);
    if (box == (void *) -1) {
        perror("shmat");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line is written at once, even into a pipe */
    pid_t producer = getpid();
    if (fork() == 0) {
        /* Not in the documents: die with the producer, so that no spinning consumer outlives it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != producer)
            _exit(1);
        for (int n = 1; n <= 6; n++) { /* five messages and END, at most */
            wait_while(box, 0);
            if (strcmp(box->message, "END") == 0)
                break;
            printf("[C consumer %d] Consumer read: %s\n", (int) getpid(), box->message);
            box->flag = 0;
        }
        _exit(0);
    }
    for (int n = 1; n <= 5; n++) {
        usleep(100 * 1000); /* the producer has other work: the consumer waits meanwhile */
        snprintf(box->message, sizeof box->message, "Message %d", n);
        printf("[C producer %d] Producer wrote: %s\n", (int) producer, box->message);
        box->flag = 1;
        wait_while(box, 1);
    }
    strcpy(box->message, "END");
    box->flag = 1;
    wait(NULL);
    shmdt(box);
    shmctl(id, IPC_RMID, NULL); /* the only removal: never reached if the program is killed */
    return 0;
}
