import numpy as np, time, sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lstm as b, chainrule as cr
from chainrule.ops import recurrent as R
import line_profiler
