# Functions the probe wraps, handed to other processes as they are: pickled by reference (a
# pool's task, a spawned Process's target), each must be found under its own name, or the
# program would fail where it does not without the probe.
import multiprocessing as mp
import sys
import time

if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    # Closed and joined, so its workers end of themselves (leaving `with` would terminate them).
    pool = mp.Pool(2)
    print("slept", pool.map(time.sleep, [0.01, 0.02]))
    pool.close()
    pool.join()
    p = mp.Process(target=time.sleep, args=(0.01,))
    p.start()
    p.join()
    print("exit", p.exitcode)
