# §1.5 A process pool: map, apply_async, and a call with too many arguments.
import multiprocessing as mp


def job(x):
    return x * x  # @task


def multicore():
    pool = mp.Pool(processes=2)  # @Pool(
    res = pool.map(job, range(10))  # @map(
    print(res)
    res = pool.apply_async(job, (2,))  # @apply_async(job, (2,))
    print(res.get())
    multi_res = [pool.apply_async(job, (i,)) for i in range(10)]  # @[apply_async
    print([res.get() for res in multi_res])
    try:
        pool.apply_async(job, (2, 3, 4)).get()  # @apply_async(job, (2, 3, 4))
    except TypeError as e:
        print('TypeError:', e)
    pool.close()  # @close
    pool.join()


if __name__ == '__main__':
    multicore()
