# §1.2 Start a process, wait for it: Process(target=job, args=(1, 2)).
import multiprocessing as mp


def job(a, b):
    print('abc')  # @job(


if __name__ == '__main__':
    p1 = mp.Process(target=job, args=(1, 2))  # @spawned
    p1.start()  # @started
    p1.join()  # @exit
    print('joined, exit code', p1.exitcode)
