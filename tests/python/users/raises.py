# A worker that raises: Python prints its traceback and the exit code is 1.
import multiprocessing as mp
import sys


def bad():
    raise ValueError("no good")


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    p = mp.Process(target=bad)
    p.start()
    p.join()
    print("exitcode", p.exitcode)
