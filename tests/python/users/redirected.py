# A script that points its stdout at a file before it starts a child: the child's print goes
# to that file (it inherits the descriptor), under the probe as without it.
import multiprocessing as mp
import os
import sys
import tempfile


def child():
    print("child into the file", flush=True)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    with tempfile.TemporaryFile() as f:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(f.fileno(), 1)
        p = mp.Process(target=child)
        p.start()
        p.join()
        os.dup2(saved, 1)
        os.close(saved)
        f.seek(0)
        print("the file holds", f.read().decode().strip())
