import numpy as np, timeit, time, sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
rng=np.random.default_rng(0)
w=(rng.standard_normal((512,128))*0.1).astype(np.float32); wf=np.asfortranarray(w); wt=np.ascontiguousarray(w.T)
d=rng.standard_normal((32,512)).astype(np.float32); o=np.empty((32,128),np.float32)
for name,f in [("d@w",lambda: d@w),("d@wf",lambda: d@wf),("(wt@d.T).T",lambda: (wt@d.T).T),("matmul out",lambda: np.matmul(d,w,out=o))]:
    print(name, "%.1f us"%(timeit.timeit(f,number=3000)/3000*1e6))
import lstm as b, chainrule as cr
x=rng.standard_normal((50,32,128)).astype(np.float32); y=rng.standard_normal((50,32,128)).astype(np.float32)
m,step=b.make_chainrule(x,y)
for _ in range(5): step()
ts=[]
for _ in range(30):
    t0=time.perf_counter(); step(); ts.append(time.perf_counter()-t0)
print("chainrule alone %.2f ms"%(np.median(ts)*1e3))
