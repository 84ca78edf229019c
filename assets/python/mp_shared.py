# §1.6 Shared memory: typed Values and an Array that several processes write.
import multiprocessing as mp
import time


def writer(k, value1, value2, array, lock):
    for step in range(5):
        time.sleep(0.1)  # @sleep
        with lock:  # @lock
            value1.value += k  # @write
            value2.value += k
            array[step % len(array)] += k


if __name__ == '__main__':
    value1 = mp.Value('i', 0)  # 'i': signed int
    value2 = mp.Value('d', 3.14)  # 'd': double
    array = mp.Array('i', [1, 2, 3, 4])  # one-dimensional, typed
    lock = mp.Lock()
    ps = [mp.Process(target=writer, args=(k, value1, value2, array, lock)) for k in (1, 2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print(value1.value, round(value2.value, 2), list(array))  # 15 18.14 [7, 5, 6, 7]
