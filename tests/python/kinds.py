# Values of every kind the probe sends: binary records for 64-bit integers and floats, JSON
# lines for what does not fit them (an unsigned 64-bit value above i64, a char, a bool).
import multiprocessing as mp, ctypes
if __name__ == "__main__":
    big = mp.Value(ctypes.c_ulonglong, 0)
    big.value = 2**64 - 1
    f = mp.Value('d', 0.5)
    f.value = f.value + 1.25
    ch = mp.Array('c', b"ab")
    ch[0] = b"z"
    b = mp.Value(ctypes.c_bool, False)
    b.value = True
    print(big.value, f.value, ch.value, b.value)
