import sys, os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np, time, cProfile, pstats
import lstm as b
import chainrule as cr
rng=np.random.default_rng(0)
x=rng.standard_normal((50,32,128)).astype(np.float32); y=rng.standard_normal((50,32,128)).astype(np.float32)
m,step=b.make_chainrule(x,y)
for _ in range(5): step()
pr=cProfile.Profile(); pr.enable()
for _ in range(20): step()
pr.disable()
pstats.Stats(pr).sort_stats('tottime').print_stats(12)
# pieces
from chainrule.ops import recurrent as R
xp=rng.standard_normal((50,32,512)).astype(np.float32); w=(rng.standard_normal((512,128))*0.1).astype(np.float32)
h0=np.zeros((32,128),np.float32)
import timeit
out=R._lstm_forward(xp,w,h0,h0,False)
g=rng.standard_normal(out.shape).astype(np.float32)
print("fwd %.2f ms"%(timeit.timeit(lambda: R._lstm_forward(xp,w,h0,h0,False),number=20)/20*1e3))
print("bwd %.2f ms"%(timeit.timeit(lambda: R._lstm_grads_np(g,out,xp,w,h0,h0,False),number=20)/20*1e3))
X=rng.standard_normal((1600,128)).astype(np.float32); D=rng.standard_normal((1600,512)).astype(np.float32)
print("big x@w.T %.2f ms"%(timeit.timeit(lambda: X@w.T,number=20)/20*1e3))
print("big D.T@X %.2f ms"%(timeit.timeit(lambda: D.T@X,number=20)/20*1e3))
hh=rng.standard_normal((32,128)).astype(np.float32); wt=np.ascontiguousarray(w.T); dd=rng.standard_normal((32,512)).astype(np.float32)
print("small h@wt %.1f us"%(timeit.timeit(lambda: hh@wt,number=2000)/2000*1e6))
print("small d@w %.1f us"%(timeit.timeit(lambda: dd@w,number=2000)/2000*1e6))
print("tanh 32x512 %.1f us"%(timeit.timeit(lambda: np.tanh(dd),number=2000)/2000*1e6))
print("mul 32x128 %.1f us"%(timeit.timeit(lambda: hh*hh,number=2000)/2000*1e6))
