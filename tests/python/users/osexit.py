# A worker that leaves with os._exit: no clean-up of its own runs, the code is its word.
import multiprocessing as mp
import os
import sys


def leave(v):
    v.value = 7
    print("leaving", flush=True)
    os._exit(5)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    v = mp.Value("i", 0)
    p = mp.Process(target=leave, args=(v,))
    p.start()
    p.join()
    print("exitcode", p.exitcode, "value", v.value)
