# §1.3 Two processes put their results on a queue; the parent adds them.
import multiprocessing as mp


def job(q):
    res = 0
    for i in range(1000):  # @compute
        res += i + i**2 + i**3
    q.put(res)  # @queue_put


if __name__ == '__main__':
    q = mp.Queue()
    p1 = mp.Process(target=job, args=(q,))  # @start
    p2 = mp.Process(target=job, args=(q,))
    p1.start()
    p2.start()
    p1.join()  # @join
    p2.join()
    res1 = q.get()  # @get
    res2 = q.get()
    print(res1 + res2)  # 499667166000
