# What multiprocessing cannot pickle stays unpicklable under the probe: the probe imports no
# module the program does not (importing multiprocessing.managers would make dict views
# picklable, as lists).
import multiprocessing as mp
import sys

if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    q.put({1: 2}.keys())
    try:
        print("sent", q.get(timeout=0.5))
    except Exception as e:
        print("not sent:", type(e).__name__)
    print("managers imported:", "multiprocessing.managers" in sys.modules)
