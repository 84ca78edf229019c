# Two children under fork and two under spawn, each adding to a Value under its lock: run with
# a sitecustomize of the user's on PYTHONPATH.
import multiprocessing as mp


def add(v):
    with v.get_lock():
        v.value += 1


if __name__ == "__main__":
    for method in ("fork", "spawn"):
        ctx = mp.get_context(method)
        v = ctx.Value("i", 0)
        ps = [ctx.Process(target=add, args=(v,)) for _ in range(2)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        print(method, v.value)
