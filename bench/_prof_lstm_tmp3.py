import numpy as np, time, sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lstm as b, chainrule as cr
rng=np.random.default_rng(0)
x=rng.standard_normal((50,32,128)).astype(np.float32); y=rng.standard_normal((50,32,128)).astype(np.float32)
model = cr.nn.LSTM(128,128,num_layers=2); opt=cr.optim.SGD(model.parameters(), lr=0.01)
xc,yc=cr.tensor(x),cr.tensor(y)
T={k:[] for k in "fwd loss zero bwd step".split()}
for it in range(40):
    t0=time.perf_counter(); out,_=model(xc); t1=time.perf_counter(); loss=b._mse(out,yc); t2=time.perf_counter()
    opt.zero_grad(); t3=time.perf_counter(); loss.backward(); t4=time.perf_counter(); opt.step(); t5=time.perf_counter()
    if it>=5:
        for k,a,c in zip(T,(t0,t1,t2,t3,t4),(t1,t2,t3,t4,t5)): T[k].append(c-a)
print({k:"%.2f"%(np.median(v)*1e3) for k,v in T.items()})
import cProfile,pstats
pr=cProfile.Profile(); pr.enable()
for _ in range(10):
    out,_=model(xc); loss=b._mse(out,yc); opt.zero_grad(); loss.backward(); opt.step()
pr.disable(); pstats.Stats(pr).sort_stats('cumtime').print_stats(25)
