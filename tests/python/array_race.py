# Two processes add to every element of a shared Array without a lock (each element's read and
# write lock the Array separately, so updates race like a Value's). Start method and steps
# from the command line.
import multiprocessing as mp
import sys


def job(a, k, steps):
    for _ in range(steps):
        for i in range(len(a)):
            a[i] += k


if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    steps = int(sys.argv[2])
    a = mp.Array('i', 3)
    ps = [mp.Process(target=job, args=(a, k, steps)) for k in (1, 3)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print(list(a))
