# Two ends of a Pipe: the child sends three numbers and a None, the parent receives them as
# they come and answers once. Each end's recv, where the program calls it, is what its
# process waits in on mpviz's screen (`in a.recv()`).
import multiprocessing as mp
import sys


def child(conn, ready):
    ready.wait()
    for i in range(3):
        conn.send(i * 10)
    conn.send(None)
    print("child got", conn.recv())


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    a, b = mp.Pipe()
    ready = mp.Event()
    p = mp.Process(target=child, args=(b, ready))
    p.start()
    ready.set()
    while (x := a.recv()) is not None:
        print("parent got", x)
    a.send("bye")
    p.join()
