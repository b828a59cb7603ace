# ctest -R install_and_find_package: installs hkam from BUILD into a fresh prefix, builds
# tests/install against it with find_package(hkam), runs the program.
#   cmake -DBUILD=<hkam build dir> -DSOURCE=<tests/install> -DWORK=<scratch dir> -P run.cmake
file(REMOVE_RECURSE ${WORK})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()
step(${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix)
step(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${WORK}/prefix)
step(${CMAKE_COMMAND} --build ${WORK}/build)
step(${WORK}/build/consumer)
# The installed CLI and its analysis module: run the demo, audit it, plot it.
if(NOT EXISTS ${WORK}/prefix/share/hkam/python/hkam/analysis.py OR
   NOT EXISTS ${WORK}/prefix/share/hkam/python/hkam/__main__.py)
  message(FATAL_ERROR "the Python package (hkam/analysis.py, hkam/__main__.py) was not installed")
endif()
step(${WORK}/prefix/bin/hkam demo -q -o ${WORK}/demo.h5 --set integrator.t_end=4)
step(${WORK}/prefix/bin/hkam check-energy ${WORK}/demo.h5)
step(${CMAKE_COMMAND} -E env --unset=HKAM_PYTHON_DIR ${WORK}/prefix/bin/hkam plot ${WORK}/demo.h5 -o ${WORK}/figures)
if(NOT EXISTS ${WORK}/figures/demo_energy.png)
  message(FATAL_ERROR "the installed hkam plot wrote no demo_energy.png")
endif()
# The installed Python package (hkam.load_trace; with its compiled core when the build has it,
# PYTHON_MODULE: the model rebuilt from the trace gives its first energy bit for bit).
step(${CMAKE_COMMAND} -E env PYTHONPATH=${WORK}/prefix/share/hkam/python
     /usr/bin/python3 ${SOURCE}/check_python.py ${WORK}/demo.h5 ${PYTHON_MODULE})
